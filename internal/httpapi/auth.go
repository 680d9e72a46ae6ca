package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// Cookie and header names, as PostHog (Django) uses them.
const (
	sessionCookie = "sessionid"
	csrfCookie    = "posthog_csrftoken"
	csrfHeader    = "X-CSRFToken"
)

// sensitiveActionAge is how long after login a session may take
// sensitive actions (SESSION_SENSITIVE_ACTIONS_AGE).
const sensitiveActionAge = 2 * time.Hour

type ctxKey int

const authKey ctxKey = iota

// authInfo is the signed-in user of a request.
type authInfo struct {
	user       *gatehouse.User
	session    *gatehouse.Session // nil for personal-API-key requests
	sessionKey string
	// apiKey is the personal API key the request authenticated with, nil
	// for session requests (see apikeys_auth.go).
	apiKey *gatehouse.PersonalAPIKey
}

func authFrom(ctx context.Context) *authInfo {
	a, _ := ctx.Value(authKey).(*authInfo)
	return a
}

func errNotAuthenticated() error {
	return &gatehouse.Error{Kind: gatehouse.KindUnauthenticated, Code: "not_authenticated", Detail: "Authentication credentials were not provided."}
}

func errCSRF() error {
	return &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "csrf_failed", Detail: "CSRF Failed: CSRF token missing or incorrect."}
}

// clientIP is the proxy-aware client address netguard resolved.
func clientIP(r *http.Request) string {
	if addr, _, ok := netguard.ClientFromContext(r.Context()); ok && addr.IsValid() {
		return addr.String()
	}
	return ""
}

// throttleAddress is the client address as every per-address throttle
// counts it: IPv6 grouped by /64 (ratelimit.AddressKey).
func throttleAddress(r *http.Request) string {
	return ratelimit.AddressKey(clientIP(r))
}

// withSession resolves the session cookie (when there is one) and, for
// unsafe methods on a session-authenticated request, enforces CSRF: the
// X-CSRFToken header (or form field) must be the session's token, and a
// browser's Origin must be this site (csrf.go). On the paths exempt from
// the IP allow-list nothing authenticates: a cookie or key sent there is
// ignored.
func withSession(d Deps, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if netguard.IsExemptPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		if d.APIKeys != nil {
			if raw, where, ok := personalAPIKeyFrom(r); ok {
				serveWithAPIKey(d, w, r, raw, where, next)
				return
			}
		}
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return
		}
		user, sess, err := d.Auth.Authenticate(r.Context(), c.Value)
		if errors.Is(err, gatehouse.ErrNoSession) {
			d.Cookies.Clear(w, sessionCookie, cookies.Options{})
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if !safeMethod(r.Method) {
			if isFormPost(r) {
				if err := parseFormBody(w, r); err != nil {
					writeError(w, r, d.Logger, err)
					return
				}
			}
			if !csrfOK(r, d, c.Value) {
				writeError(w, r, d.Logger, errCSRF())
				return
			}
		}
		if !twoFactorGate(w, r, d, user, sess, c.Value) {
			return
		}
		ctx := context.WithValue(r.Context(), authKey, &authInfo{user: user, session: sess, sessionKey: c.Value})
		ctx = gatehouse.WithAuditActor(ctx, gatehouse.AuditUser(user)) // audit log
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// csrfFormField is the hidden form field that carries the CSRF token in
// HTML forms, as Django names it.
const csrfFormField = "csrfmiddlewaretoken"

// maxFormBody bounds the url-encoded bodies of HTML forms.
const maxFormBody = 64 << 10

// formCSRFToken is the csrfmiddlewaretoken field of a url-encoded form
// post, or "" for any other body. The body is read at most once and at
// most maxFormBody bytes; handlers then find the fields in r.PostForm.
func formCSRFToken(r *http.Request) string {
	if !isFormPost(r) {
		return ""
	}
	if err := parseFormBody(nil, r); err != nil {
		return ""
	}
	return r.PostForm.Get(csrfFormField)
}

// isFormPost reports whether the body is an HTML form's url-encoded one.
func isFormPost(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// parseFormBody parses a url-encoded body into r.PostForm, bounded by
// maxFormBody, and refuses fields that are not clean text (input.go). w
// may be nil (then the connection is not told to close). Its errors are
// domain errors.
func parseFormBody(w http.ResponseWriter, r *http.Request) error {
	if r.PostForm == nil {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		}
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return &gatehouse.Error{Kind: gatehouse.KindTooLarge, Code: "request_too_large", Detail: "Request body is too large."}
			}
			return &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "Could not read the form."}
		}
	}
	return checkFormText(r.PostForm)
}

// requireUser answers 401 unless the request is signed in.
func requireUser(d Deps, next func(w http.ResponseWriter, r *http.Request, a *authInfo)) http.Handler {
	return withSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := authFrom(r.Context())
		if a == nil {
			if projectSecretOnWrongRoute(w, r, d) {
				return
			}
			writeError(w, r, d.Logger, errNotAuthenticated())
			return
		}
		next(w, r, a)
	}))
}

// handleLogin signs in with email and password. It does not authenticate
// the session the request may carry (so it needs no CSRF token, as
// PostHog's login does not without a session); that session, if any, is
// ended and replaced.
func handleLogin(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		res, err := d.Auth.Login(r.Context(), gatehouse.LoginInput{Email: in.Email, Password: gatehouse.Secret(in.Password),
			ClientIP: clientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: previousSessionKey(r), RememberDevices: rememberCookies(r)})
		countLogin("password", err)
		auditLoginRefused(r, d, in.Email, err)
		if err != nil {
			notVerified(r, d, err)
			secondStepDue(w, r, d, err)
			writeError(w, r, d.Logger, err)
			return
		}
		setSignedIn(w, r, d, res)
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "login", slog.String("user", res.User.UUID), slog.String("method", "password"), slog.String("client", clientIP(r)))
		if res.NewDevice {
			queueMail(r, d, newDeviceMail(res.User, res.Session))
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

// previousSessionKey is the session cookie a request carries, if any.
func previousSessionKey(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// setSignedIn writes the cookies of a new session.
func setSignedIn(w http.ResponseWriter, r *http.Request, d Deps, res *gatehouse.LoginResult) {
	setSessionCookie(w, d.Cookies, res.SessionKey, res.Session)
	setSessionCSRFCookie(w, d, res.SessionKey.Reveal(), time.Until(res.Session.ExpiresAt).Round(time.Second))
}

// signIn starts a session for a user another step has already
// authenticated (signup, invite, email verification) and sets its cookies.
func signIn(w http.ResponseWriter, r *http.Request, d Deps, user *gatehouse.User, method string) error {
	res, err := d.Auth.StartSession(r.Context(), user, gatehouse.LoginInput{ClientIP: clientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: previousSessionKey(r)}, method)
	if err != nil {
		return err
	}
	setSignedIn(w, r, d, res)
	return nil
}

func setSessionCookie(w http.ResponseWriter, p cookies.Policy, key gatehouse.Secret, s *gatehouse.Session) {
	p.Set(w, sessionCookie, key.Reveal(), cookies.Options{MaxAge: time.Until(s.ExpiresAt).Round(time.Second)})
}

func handlePrecheck(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email string `json:"email"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if _, err := gatehouse.NormalizeEmail(in.Email); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		var enforced any
		saml := false
		if d.Domains != nil {
			provider, err := d.Domains.EnforcedProvider(r.Context(), in.Email)
			if err != nil {
				writeError(w, r, d.Logger, err)
				return
			}
			if provider != "" {
				enforced = provider
			}
			if saml, err = d.Domains.SAMLAvailable(r.Context(), in.Email); err != nil {
				writeError(w, r, d.Logger, err)
				return
			}
		}
		out := map[string]any{"sso_enforcement": enforced, "saml_available": saml}
		if p, ok := enforced.(string); ok {
			out["sso_provider_name"] = providerName(d, p) // what the page calls it
		}
		writeJSON(w, http.StatusOK, out)
	})
}

// handleLogout ends the session server-side and clears the cookie. The API
// form answers JSON; /logout redirects to the login page.
func handleLogout(d Deps, redirect bool) http.Handler {
	return withSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := authFrom(r.Context()); a != nil {
			if err := d.Auth.Logout(r.Context(), a.sessionKey); err != nil {
				writeError(w, r, d.Logger, err)
				return
			}
		}
		d.Cookies.Clear(w, sessionCookie, cookies.Options{})
		if redirect {
			http.Redirect(w, r, "/login", http.StatusFound)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	}))
}

// handleMe answers GET /api/users/@me. A key-authenticated request (no
// session, so nothing time-dependent in the answer) reuses the bytes
// encoded for the same user under the same auth generation: everything
// the answer shows is auth state, so any change to it moves the
// generation and the next request encodes afresh.
func handleMe(d Deps) http.Handler {
	var encoded gatehouse.GenerationCache[int64, []byte]
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if a.session == nil {
			if body, ok := encoded.Get(r.Context(), a.user.ID); ok {
				writeJSONBytes(w, http.StatusOK, body)
				return
			}
		}
		p, err := d.Accounts.Profile(r.Context(), a.user)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if a.session != nil {
			ensureCSRFCookie(w, r, d, a.sessionKey, time.Until(a.session.ExpiresAt).Round(time.Second))
		}
		out := meJSON(p, a.session)
		if !twoFactorFields(r, d, a.user, out) || a.session != nil {
			writeJSON(w, http.StatusOK, out)
			return
		}
		body := encodeJSON(out)
		encoded.Put(r.Context(), a.user.ID, body)
		writeJSONBytes(w, http.StatusOK, body)
	})
}

// meBody is GET /api/users/@me's answer. A struct rather than a map: the
// key-authenticated hot path encodes it on every request, and its fields
// are in key order, so the bytes are those of the sorted map it replaced.
type meBody struct {
	DateJoined                string          `json:"date_joined"`
	Email                     string          `json:"email"`
	FirstName                 string          `json:"first_name"`
	HasPassword               bool            `json:"has_password"`
	Is2FAEnabled              bool            `json:"is_2fa_enabled"`
	IsActive                  bool            `json:"is_active"`
	IsEmailVerified           *bool           `json:"is_email_verified"`
	IsStaff                   bool            `json:"is_staff"`
	LastName                  string          `json:"last_name"`
	Organization              *meOrganization `json:"organization"`
	Organizations             []meMembership  `json:"organizations"`
	PasskeysEnabledFor2FA     *bool           `json:"passkeys_enabled_for_2fa,omitempty"`
	SensitiveSessionExpiresAt *string         `json:"sensitive_session_expires_at"`
	Team                      *meTeam         `json:"team"`
	UUID                      string          `json:"uuid"`
	meParity
}

type meOrganization struct {
	Enforce2FA                   bool   `json:"enforce_2fa"`
	ID                           string `json:"id"`
	MembersCanUsePersonalAPIKeys bool   `json:"members_can_use_personal_api_keys"`
	MembershipLevel              *int   `json:"membership_level,omitempty"`
	Name                         string `json:"name"`
	SessionCookieAge             *int   `json:"session_cookie_age"`
}

type meMembership struct {
	ID              string `json:"id"`
	MembershipLevel int    `json:"membership_level"`
}

type meTeam struct {
	APIToken     string `json:"api_token"`
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Organization string `json:"organization"`
}

func meJSON(p *gatehouse.Profile, s *gatehouse.Session) *meBody {
	u := p.User
	out := &meBody{
		UUID: u.UUID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		IsStaff: u.IsStaff, IsActive: u.IsActive, IsEmailVerified: u.IsEmailVerified,
		HasPassword: u.PasswordHash != "", DateJoined: u.CreatedAt.Format(time.RFC3339),
		Organizations: make([]meMembership, 0, len(p.Memberships)),
		meParity:      newMeParity(u),
	}
	if s != nil {
		at := s.CreatedAt.Add(sensitiveActionAge).UTC().Format(time.RFC3339)
		out.SensitiveSessionExpiresAt = &at
	}
	if o := p.Organization; o != nil {
		out.Organization = &meOrganization{ID: o.ID, Name: o.Name, Enforce2FA: o.Enforce2FA,
			MembersCanUsePersonalAPIKeys: o.MembersCanUsePersonalAPIKeys, SessionCookieAge: o.SessionCookieAge}
		if p.Membership != nil {
			level := int(p.Membership.Level)
			out.Organization.MembershipLevel = &level
		}
	}
	if t := p.Project; t != nil {
		out.Team = &meTeam{ID: t.ID, Name: t.Name, APIToken: t.APIToken, Organization: t.OrganizationID}
	}
	for _, m := range p.Memberships {
		out.Organizations = append(out.Organizations, meMembership{ID: m.OrganizationID, MembershipLevel: int(m.Level)})
	}
	return out
}

// newDeviceMail is the notice of a sign-in from a device not seen lately.
func newDeviceMail(u *gatehouse.User, s *gatehouse.Session) mail.Message {
	return mail.NewDeviceNotice(u.Email, s.CreatedAt, s.ClientIP, shortUserAgent(s.UserAgent), s.LoginMethod)
}
