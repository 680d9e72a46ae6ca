package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/sso/oauth"
)

// Social login (docs/posthog-compat.md#social-login): /login/<backend>/ sends the browser to the
// provider with a fresh state, PKCE challenge and (OIDC) nonce, which a
// sealed, short-lived, HttpOnly cookie binds to this browser;
// /complete/<backend>/ checks them, redeems the code and runs the SSO
// pipeline. Failures go back to /login?error_code=<code>.
const (
	SocialFlowCookie    = "gh_sso_flow"
	socialPendingCookie = "gh_sso_pending"
	// socialFlowTTL is how long a round trip to the provider may take.
	socialFlowTTL = 10 * time.Minute
	// socialPendingTTL is how long the confirm-creation step may take.
	socialPendingTTL = 15 * time.Minute
	// SocialAccountsPath is the JSON API of the signed-in user's links.
	SocialAccountsPath = "/api/users/@me/social_accounts"
)

func init() {
	pageTemplates["social_confirm"] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/social_confirm.html"))
}

// socialFlow is what the flow cookie carries through the round trip.
type socialFlow struct {
	Backend  string `json:"b"`
	State    string `json:"s"`
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
	Next     string `json:"next,omitempty"`
	Invite   string `json:"inv,omitempty"`
	LinkUser int64  `json:"link,omitempty"` // the signed-in user who is linking
	Expires  int64  `json:"exp"`
}

// socialPending is the verified identity waiting at the confirm-creation
// step.
type socialPending struct {
	Identity gatehouse.SSOIdentity `json:"id"`
	Next     string                `json:"next,omitempty"`
	Expires  int64                 `json:"exp"`
}

// SocialLogin serves social login (OAuth2 and OpenID Connect): the round
// trip to the provider, linking a provider to the signed-in account, and
// the confirm-creation step of a new account.
type SocialLogin struct {
	Auth     *httpauth.Auth // CSRF tokens, sign-in cookies, emails
	Sessions *gatehouse.AuthService
	// SSO runs the pipeline; nil: social login is unavailable.
	SSO *gatehouse.SSOService
	// SocialProviders are the configured backends; nil: none.
	SocialProviders *oauth.Registry
	// Keys seal the flow and confirm-creation cookies.
	Keys *secretkey.Keyring
	// Limiter lets each state complete once, on every instance.
	Limiter *ratelimit.Limiter
}

// Flow serves one step of the round trip (Begin, Connect, Complete): a
// failure it returns is logged and sends the browser back with its code
// (failSSO); another error is written by httpauth.WriteError.
func (h *SocialLogin) Flow(step httpauth.Handler) httpauth.Handler {
	return ssoFlow(h.SocialProviders, step)
}

// signIn is what completing an identity needs.
func (h *SocialLogin) signIn() ssoSignIn {
	return ssoSignIn{auth: h.Auth, sso: h.SSO, keys: h.Keys}
}

func sealCookie(keys *secretkey.Keyring, purpose string, v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(keys.For(secretkey.PurposeSocialLogin).Seal(b, []byte(purpose)))
}

func openCookie(r *http.Request, keys *secretkey.Keyring, name, purpose string, v any) bool {
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" || len(c.Value) > 4096 || keys == nil {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return false
	}
	pt, _, err := keys.For(secretkey.PurposeSocialLogin).Open(raw, []byte(purpose))
	return err == nil && json.Unmarshal(pt, v) == nil
}

// flowMismatch says why a callback does not belong to this browser's
// round trip, or "" when it does.
func flowMismatch(haveFlow bool, f socialFlow, backend, state string) string {
	switch {
	case !haveFlow:
		return "the browser brought no valid flow cookie (started in another browser, on another host than SITE_URL's, or expired)"
	case f.Backend != backend:
		return "the flow was started for another provider (" + f.Backend + ")"
	case time.Now().Unix() > f.Expires:
		return "the round trip took longer than allowed"
	case state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(f.State)) != 1:
		return "the state does not match this browser's flow"
	}
	return ""
}

// provider resolves the path's backend, or fails with
// invalid_sso_provider / improperly_configured_sso.
func (h *SocialLogin) provider(r *http.Request, linking bool) (*oauth.Provider, error) {
	name := r.PathValue("backend")
	p, ok := h.SocialProviders.Get(name)
	if ok && h.Keys != nil && h.SSO != nil {
		return p, nil
	}
	f := &ssoFailure{Provider: name, Code: "invalid_sso_provider", Reason: "no such provider", linking: linking}
	if h.SocialProviders.Known(name) {
		f.Code, f.Reason = "improperly_configured_sso", "the provider is not configured on this instance"
	}
	return nil, f
}

// startFlow sets the flow cookie and redirects to the provider.
func (h *SocialLogin) startFlow(w http.ResponseWriter, r *http.Request, p *oauth.Provider, f socialFlow, loginHint string) error {
	flow := oauth.NewFlow()
	f.Backend, f.State, f.Verifier, f.Nonce = p.Name(), flow.State, flow.Verifier, flow.Nonce
	f.Expires = time.Now().Add(socialFlowTTL).Unix()
	target, err := p.AuthCodeURL(r.Context(), flow, loginHint)
	if err != nil {
		return ssoFailureOf(p.Name(), err).linked(f.LinkUser != 0)
	}
	h.Auth.Cookies.Set(w, SocialFlowCookie, sealCookie(h.Keys, "flow", f), cookies.Options{MaxAge: socialFlowTTL})
	http.Redirect(w, r, target, http.StatusFound)
	return nil
}

// Begin is GET /login/<backend>/: sign in (or sign up) with a provider.
// ?next= (a path here), ?invite_id= and ?email= (login hint) are carried
// through.
func (h *SocialLogin) Begin(w http.ResponseWriter, r *http.Request) error {
	p, err := h.provider(r, false)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := socialFlow{Next: safeNext(q.Get("next")), Invite: strings.TrimSpace(q.Get("invite_id"))}
	if len(f.Invite) > 64 {
		f.Invite = ""
	}
	hint := strings.TrimSpace(q.Get("email"))
	if _, err := gatehouse.NormalizeEmail(hint); err != nil {
		hint = ""
	}
	return h.startFlow(w, r, p, f, hint)
}

// Connect is POST /connect/<backend>/ (signed in, CSRF): link another
// provider to the signed-in account.
func (h *SocialLogin) Connect(w http.ResponseWriter, r *http.Request) error {
	a := httpauth.CallerFrom(r.Context())
	if a == nil || a.Session == nil {
		http.Redirect(w, r, "/login?"+url.Values{"next": {"/settings"}}.Encode(), http.StatusFound)
		return nil
	}
	p, err := h.provider(r, true)
	if err != nil {
		return err
	}
	return h.startFlow(w, r, p, socialFlow{Next: "/settings", LinkUser: a.User.ID}, a.User.Email)
}

// Complete is the provider's callback, /complete/<backend>/.
func (h *SocialLogin) Complete(w http.ResponseWriter, r *http.Request) error {
	var f socialFlow
	haveFlow := openCookie(r, h.Keys, SocialFlowCookie, "flow", &f)
	// The flow cookie works once, whatever happens next.
	h.Auth.Cookies.Clear(w, SocialFlowCookie, cookies.Options{})
	linking := haveFlow && f.LinkUser != 0
	p, err := h.provider(r, linking)
	if err != nil {
		return err
	}
	if r.Method == http.MethodPost {
		if err := httpauth.ParseFormBody(w, r); err != nil {
			return &ssoFailure{Provider: p.Name(), Code: "invalid_request", Reason: "the callback's form could not be read", linking: linking}
		}
	}
	get := func(k string) string {
		if r.Method == http.MethodPost {
			return r.PostForm.Get(k)
		}
		return r.URL.Query().Get(k)
	}
	state := get("state")
	if reason := flowMismatch(haveFlow, f, p.Name(), state); reason != "" {
		return &ssoFailure{Provider: p.Name(), Code: "invalid_state", Reason: reason,
			IdPError: get("error"), IdPDescription: get("error_description"), linking: linking}
	}
	if e := get("error"); e != "" {
		return &ssoFailure{Provider: p.Name(), Code: idpErrorCode(e), Reason: "the identity provider sent an error back instead of a code",
			IdPError: e, IdPDescription: get("error_description"), linking: linking}
	}
	code := get("code")
	if code == "" || len(code) > 2048 {
		return &ssoFailure{Provider: p.Name(), Code: "missing_code", Reason: "the callback carries no usable code", linking: linking}
	}
	// A state completes once, on every instance: a replayed callback
	// (same cookie, same state, same code) is refused here before the
	// provider is asked.
	if h.Limiter != nil {
		sum := sha256.Sum256([]byte(f.State))
		ok, _, err := h.Limiter.Allow(r.Context(), ratelimit.Key("sso-state", hex.EncodeToString(sum[:])), ratelimit.Rate{Limit: 1, Period: socialFlowTTL + time.Minute})
		if err != nil {
			return ssoFailureOf(p.Name(), err).linked(linking)
		}
		if !ok {
			return &ssoFailure{Provider: p.Name(), Code: "invalid_state", Reason: "this sign-in attempt was completed already (a replayed callback)", linking: linking}
		}
	}
	id, err := p.Exchange(r.Context(), oauth.Flow{State: f.State, Verifier: f.Verifier, Nonce: f.Nonce}, code)
	httpauth.CountLogin(p.Name(), err)
	if err != nil {
		return ssoFailureOf(p.Name(), err).linked(linking)
	}
	in := gatehouse.SSOLogin{InviteID: f.Invite, ClientIP: httpauth.ClientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: httpauth.PreviousSessionKey(r)}
	if linking {
		user, _, err := h.Sessions.Authenticate(r.Context(), httpauth.PreviousSessionKey(r))
		if err != nil || user.ID != f.LinkUser {
			return &ssoFailure{Provider: p.Name(), Code: "not_authenticated", Reason: "the user who started linking is no longer signed in", linking: true}
		}
		in.LinkTo = user
	}
	return h.signIn().complete(w, r, id, in, f.Next)
}

// ssoSignIn is what finishing a single sign-on needs, social or SAML.
type ssoSignIn struct {
	auth *httpauth.Auth
	sso  *gatehouse.SSOService
	keys *secretkey.Keyring
}

// complete runs the pipeline for a proved identity and finishes the
// request: signs in (or, when linking, returns to the settings page),
// goes to the confirm-creation step, or fails with the error code. The
// SAML service provider finishes its logins through it too.
func (s ssoSignIn) complete(w http.ResponseWriter, r *http.Request, id gatehouse.SSOIdentity, in gatehouse.SSOLogin, next string) error {
	linking := in.LinkTo != nil
	res, err := s.sso.Complete(r.Context(), id, in)
	if err != nil {
		return ssoFailureOf(id.Backend, err).linked(linking)
	}
	if res.TookOver {
		httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelWarn, "sso claimed an account", slog.String("user", res.User.UUID),
			slog.String("provider", id.Backend), slog.String("client", httpauth.ClientIP(r)), slog.Int("revoked_keys", len(res.RevokedKeys)),
			slog.String("reason", "the account's email was never verified: its password was made unusable and its sessions, keys and trusted devices revoked"))
		httpauth.QueueMail(r, *s.auth, mail.SocialTakeoverNotice(res.User.Email, httpauth.ProviderName(*s.auth, id.Backend), res.RevokedKeys))
	}
	if res.Linked {
		httpauth.QueueMail(r, *s.auth, mail.SocialLinkedNotice(res.User.Email, id.Backend, httpauth.ProviderName(*s.auth, id.Backend)))
	}
	if linking {
		http.Redirect(w, r, "/settings?"+url.Values{"done": {"linked"}, "backend": {id.Backend}}.Encode(), http.StatusFound)
		return nil
	}
	if res.ConfirmOrganization {
		s.auth.Cookies.Set(w, socialPendingCookie, sealCookie(s.keys, "pending", socialPending{Identity: id, Next: next, Expires: time.Now().Add(socialPendingTTL).Unix()}),
			cookies.Options{MaxAge: socialPendingTTL})
		first := id.ProposedFirstName()
		q := url.Values{"organization_name": {""}, "first_name": {first}, "email": {id.Email}, "next": {next}}
		http.Redirect(w, r, "/organization/confirm-creation?"+q.Encode(), http.StatusFound)
		return nil
	}
	if err := s.start(w, r, res.User, id.Backend, res.Created); err != nil {
		return ssoFailureOf(id.Backend, err)
	}
	http.Redirect(w, r, safeNext(next), http.StatusFound)
	return nil
}

// start starts the session of a user a provider authenticated and sends
// the new-device notice when it is due (not for an account created just
// now: its first device is simply registered).
func (s ssoSignIn) start(w http.ResponseWriter, r *http.Request, user *gatehouse.User, backend string, created bool) error {
	_, err := httpauth.StartSession(w, r, *s.auth, user, httpauth.LoginStep{Method: backend, NewAccount: created})
	return err
}

// knownProviderName is the display name of backend when it is a sign-in
// method of this instance.
func knownProviderName(auth *httpauth.Auth, samlOn bool, backend string) (string, bool) {
	if _, ok := auth.SocialProviders.Get(backend); ok || (backend == "saml" && samlOn) {
		return httpauth.ProviderName(*auth, backend), true
	}
	return "", false
}

// pendingSignup reads the confirm-creation cookie.
func (h *SocialLogin) pendingSignup(r *http.Request) (*socialPending, error) {
	var p socialPending
	if !openCookie(r, h.Keys, socialPendingCookie, "pending", &p) || time.Now().Unix() > p.Expires || h.SSO == nil {
		return nil, gatehouse.Invalid("invalid_input", "", "Inactive social login session. Go to /login and log in before continuing.")
	}
	return &p, nil
}

// signup creates the account of the pending identity and signs in.
func (h *SocialLogin) signup(w http.ResponseWriter, r *http.Request, orgName, firstName string) (string, error) {
	p, err := h.pendingSignup(r)
	if err != nil {
		return "", err
	}
	res, err := h.SSO.CreateWithOrganization(r.Context(), p.Identity, gatehouse.SocialSignup{OrganizationName: orgName, FirstName: firstName})
	if err != nil {
		return "", err
	}
	h.Auth.Cookies.Clear(w, socialPendingCookie, cookies.Options{})
	if err := h.signIn().start(w, r, res.User, p.Identity.Backend, true); err != nil {
		return "", err
	}
	return safeNext(p.Next), nil
}

// Signup is POST /api/social_signup (JSON): the confirm-creation step of
// a verified identity that matched no account, on an instance where
// organizations may be created.
func (h *SocialLogin) Signup(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		OrganizationName   string `json:"organization_name"`
		FirstName          string `json:"first_name"`
		RoleAtOrganization string `json:"role_at_organization"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	next, err := h.signup(w, r, in.OrganizationName, in.FirstName)
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusCreated, map[string]string{"continue_url": next})
	return nil
}

// SocialConfirmPage is what social_confirm.html shows: the organization a
// new account made by single sign-on is to create.
type SocialConfirmPage struct {
	Layout
	Form
	Email string // the identity's
}

func (*SocialConfirmPage) template() string { return "social_confirm" }

// ConfirmCreation shows the confirm-creation form.
func (h *SocialLogin) ConfirmCreation(w http.ResponseWriter, r *http.Request) error {
	p, err := h.pendingSignup(r)
	if err != nil {
		http.Redirect(w, r, "/login?"+url.Values{"error_code": {"inactive_social_session"}}.Encode(), http.StatusFound)
		return nil
	}
	q := r.URL.Query()
	renderPage(w, r, http.StatusOK, &SocialConfirmPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}, Email: p.Identity.Email,
		Form: Form{Values: map[string]string{"first_name": q.Get("first_name"), "organization_name": q.Get("organization_name")}}})
	return nil
}

// ConfirmCreationForm creates the account and its organization, and
// signs in.
func (h *SocialLogin) ConfirmCreationForm(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	next, err := h.signup(w, r, r.PostForm.Get("organization_name"), r.PostForm.Get("first_name"))
	if err != nil {
		data := &SocialConfirmPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)},
			Form: Form{Values: map[string]string{"first_name": r.PostForm.Get("first_name"), "organization_name": r.PostForm.Get("organization_name")}}}
		if p, perr := h.pendingSignup(r); perr == nil {
			data.Email = p.Identity.Email
		}
		return onPage(err, data, "first_name", "organization_name")
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// socialLoginErrors are the login page's words for /login?error_code=.
var socialLoginErrors = map[string]string{
	"invalid_sso_provider":      "That sign-in provider does not exist.",
	"improperly_configured_sso": "That sign-in provider is not configured on this instance.",
	"invalid_state":             "The sign-in attempt expired or was not started in this browser. Please try again.",
	"missing_code":              "The identity provider did not complete the sign-in. Please try again.",
	"invalid_code":              "{provider} refused the sign-in code: it expired or was used already. Please try again.",
	"access_denied":             "The sign-in was cancelled at {provider}.",
	"sso_provider_error":        "{provider} could not be reached or failed. Please try again later; if it keeps happening, ask your administrator.",
	"sso_provider_refused":      "{provider} refused the sign-in. Please try again; if it keeps happening, ask your administrator (the reason is in Gatehouse's log).",
	"sso_client_rejected":       "Gatehouse's client ID or secret for {provider} is wrong: ask your administrator.",
	"sso_request_rejected":      "{provider} refused Gatehouse's sign-in request: its settings for Gatehouse (redirect URI, scopes, client) do not match. Ask your administrator.",
	"sso_issuer_mismatch":       "Gatehouse's issuer setting for {provider} does not match the provider: ask your administrator.",
	"invalid_sso_response":      "The answer from {provider} could not be verified: ask your administrator to check Gatehouse's settings for it.",
	"required":                  "{provider} did not send your email address or user id: ask your administrator to check the attributes it sends.",
	"email_not_verified":        "Your email address is not verified at the identity provider. Verify it there and try again.",
	"email_mismatch":            "That account's email does not match yours.",
	"social_account_in_use":     "That account is already linked to another user.",
	"jit_not_enabled":           "Your organization does not provision accounts automatically. Ask your administrator for an invite.",
	"no_new_organizations":      "New organizations cannot be created on this instance. Ask an administrator for an invite.",
	"saml_sso_enforced":         "Your organization requires signing in with SAML.",
	"google_sso_enforced":       "Your organization requires signing in with Google.",
	"github_sso_enforced":       "Your organization requires signing in with GitHub.",
	"gitlab_sso_enforced":       "Your organization requires signing in with GitLab.",
	"sso_enforced":              "Your organization requires signing in with single sign-on.",
	"inactive_user":             "This account is inactive.",
	"inactive_social_session":   "Inactive social login session. Log in before continuing.",
	"domain_not_allowed":        "Sign-in with this email domain is not allowed on this instance.",
	"last_login_method":         "That is your last way to sign in: set a password or link another account first.",
}

// socialErrorMessage is the text for an error_code on the login and
// settings pages; codes it does not know get a generic message.
func socialErrorMessage(code string) string {
	if code == "" {
		return ""
	}
	if m, ok := socialLoginErrors[code]; ok {
		return m
	}
	return "Single sign-on failed. Please try again; if it keeps happening, ask your administrator."
}

// socialProviderView is a provider button on the login page.
type socialProviderView struct{ Name, DisplayName string }

// socialProviderViews lists the configured providers for the login page.
func socialProviderViews(providers *oauth.Registry) []socialProviderView {
	var out []socialProviderView
	for _, p := range providers.Providers() {
		out = append(out, socialProviderView{Name: p.Name(), DisplayName: p.DisplayName()})
	}
	return out
}
