package web

import (
	"bytes"
	"embed"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// The server-rendered pages: login, signup and a minimal home page. They
// work without JavaScript: plain forms, CSRF tokens in a hidden field
// (double submit against the posthog_csrftoken cookie), errors shown next
// to the field they are about.

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/gatehouse.css
var Stylesheet []byte

// loginScript hides the password field when the email's domain enforces
// SSO (the login page works without it).
//
//go:embed static/login.js
var LoginScript []byte

// pageTemplates holds one template set per page, each with the layout.
var pageTemplates = func() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range []string{"login", "signup", "home", "check_email", "settings", "reset_request", "reset_form", "invite", "verify_email"} {
		pages[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}()

// pageCSP is the Content-Security-Policy of every HTML page: no inline
// script or style, forms post only to this site, no framing elsewhere.
const pageCSP = "default-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'"

// CSRFFailedText is the answer to a form post without the right token.
const CSRFFailedText = "CSRF verification failed. Reload the page and try again."

// pageData is what the templates see.
type pageData struct {
	CSRFToken string
	Notice    string // informational text at the top
	Error     string // an error about no one field, at the top
	Next      string // login: where to go after signing in
	Email     string
	// Values are the submitted fields to show again (never a password).
	Values map[string]string
	// Errors are the messages about single fields, by field name.
	Errors map[string]string
	// Sessions are the signed-in user's sessions (settings page).
	Sessions []sessionView
	// SSOProvider is the sign-in method the email's domain enforces (login
	// page): the password field is hidden and the user told to use it.
	SSOProvider string
	// SSOProviderName is what the page calls SSOProvider ("Google", "SAML").
	SSOProviderName string
	// SignedInAs is the signed-in user's email on pages that offer them
	// something other than a new account (the invite page).
	SignedInAs string
	// TwoFactor is what the two-factor pages show (pages_twofactor.go).
	TwoFactor *twoFactorView
	// Passkeys is what the passkeys page shows (webauthn_page.go).
	Passkeys *passkeysView
	// SocialProviders are the configured social login backends (login
	// page), each a link to /login/<name>/.
	SocialProviders []socialProviderView
	// SocialLinks are the signed-in user's linked providers (settings).
	SocialLinks []socialLinkView
}

// sessionView is one row of the settings page's session list.
type sessionView struct {
	ID, Device, IP, LastActive string
	Current                    bool
}

// fieldView is one labelled input, as the "field" template draws it.
type fieldView struct {
	Name, Label, Type, Autocomplete string
	Value, Error                    string
	Required                        bool
}

// Field describes the input name with its kept value and its error.
func (p pageData) Field(name, label, typ, autocomplete string) fieldView {
	f := fieldView{Name: name, Label: label, Type: typ, Autocomplete: autocomplete, Error: p.Errors[name],
		Required: name != "last_name" && name != "organization_name"}
	if typ != "password" {
		f.Value = p.Values[name]
	}
	return f
}

// renderPage writes a page. Pages carry forms and per-user content, so
// none is cached.
func renderPage(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplates[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "rendering page failed", slog.String("page", name), slog.String("error", err.Error()))
		httpauth.WriteText(w, http.StatusInternalServerError, "A server error occurred.")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// pageError is the one place an error becomes what a page shows: the
// status (as the JSON API would answer), the field it is about (or "") and
// the message. Internal errors are logged and shown as a generic message.
func pageError(w http.ResponseWriter, r *http.Request, err error) (status int, field, message string) {
	e, ok := httpauth.DomainError(err)
	if !ok || e.Kind == gatehouse.KindInternal {
		cause := err
		if ok && e.Err != nil {
			cause = e.Err
		}
		httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("path", httpauth.LoggablePath(r.URL.Path)), slog.String("error", cause.Error()))
		return http.StatusInternalServerError, "", "A server error occurred. Please try again."
	}
	status, _ = httpauth.StatusAndType(e.Kind)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	return status, e.Attr, e.Detail
}

// showError puts an error next to its field when the form has that field,
// otherwise at the top, and returns the status to answer with.
func showError(w http.ResponseWriter, r *http.Request, d httpauth.Auth, data *pageData, fields []string, err error) int {
	status, field, msg := pageError(w, r, err)
	for _, f := range fields {
		if f == field {
			data.Errors = map[string]string{field: msg}
			return status
		}
	}
	data.Error = msg
	return status
}

// requireFormCSRF checks a form post: a url-encoded body of clean text,
// sent from this site (Origin), with the right CSRF token (the session's
// own when signed in). It answers 415, 400 or 403 when something is wrong.
// Login and signup have no session yet, so this is what stops login CSRF.
func requireFormCSRF(w http.ResponseWriter, r *http.Request, d httpauth.Auth) bool {
	var err error
	switch {
	case httpauth.CrossOrigin(r, d.SiteURL) != nil:
	case !httpauth.IsFormPost(r):
		err = httpauth.ErrUnsupportedMediaType(r.Header.Get("Content-Type"))
	default:
		if err = httpauth.ParseFormBody(w, r); err == nil {
			sessionKey := ""
			if a := pageUser(r); a != nil {
				sessionKey = a.SessionKey
			}
			if httpauth.CsrfOK(r, d, sessionKey) {
				return true
			}
		}
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	if err != nil {
		httpauth.WriteError(w, r, err)
	} else {
		httpauth.WriteText(w, http.StatusForbidden, CSRFFailedText)
	}
	return false
}

// safeNext returns next when it is a path on this site, "/" otherwise.
// Only "/x" is accepted: not "//host", not "/\host" (which browsers read
// as "//host"), nor anything with control characters browsers drop.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return "/"
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// loginNotices are the notices the login page shows, by the code in its
// ?message= parameter. Only these texts can appear in the notice box: a
// link cannot make the page say anything else.
var loginNotices = map[string]string{
	"password_changed":  "Your password was changed. Log in with the new one.",
	"login_first":       "Log in with your email and password first.",
	"login_again":       "Log in with your email and password.",
	"2fa_expired":       "Login attempt has expired. Re-enter username/password.",
	"email_mfa_expired": "Your sign-in attempt expired. Log in again to get a new link.",
	"session_expired":   "Your session has expired. Please log in again.",
}

// loginMessage is the login page's notice for its ?message= code; an
// unknown code shows nothing.
func loginMessage(r *http.Request) string {
	return loginNotices[r.URL.Query().Get("message")]
}

// pageCSRFToken sets the CSRF cookie and returns the token for the form's
// hidden field: the session's own when signed in, otherwise a random
// browser-session token.
func pageCSRFToken(w http.ResponseWriter, r *http.Request, d httpauth.Auth) string {
	if a := pageUser(r); a != nil {
		return httpauth.EnsureCSRFCookie(w, r, d, a.SessionKey, time.Until(a.Session.ExpiresAt).Round(time.Second))
	}
	return httpauth.EnsureCSRFCookie(w, r, d, "", 0)
}

var loginFields = []string{"email", "password"}

func HandleLoginPage(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := pageData{CSRFToken: pageCSRFToken(w, r, d), Notice: loginMessage(r),
			Error: ssoErrorMessage(d, r.URL.Query().Get("error_code"), r.URL.Query().Get("provider")), SocialProviders: socialProviderViews(d)}
		if next := safeNext(r.URL.Query().Get("next")); next != "/" {
			data.Next = next
		}
		renderPage(w, r, http.StatusOK, "login", data)
	})
}

// handleLoginForm signs in from the login form, as handleLogin does for
// the JSON API, and redirects to next (a path on this site) or "/".
func HandleLoginForm(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !requireFormCSRF(w, r, d) {
			return
		}
		email := r.PostForm.Get("email")
		next := safeNext(r.PostForm.Get("next"))
		res, err := d.Sessions.Login(r.Context(), gatehouse.LoginInput{Email: email, Password: gatehouse.Secret(r.PostForm.Get("password")),
			ClientIP: httpauth.ClientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: httpauth.PreviousSessionKey(r), RememberDevices: httpauth.RememberCookies(r)})
		httpauth.CountLogin("password", err)
		if err != nil {
			httpauth.NotVerified(r, d, err)
			if secondStepPage(w, r, d, err, next) {
				return
			}
			data := pageData{CSRFToken: pageCSRFToken(w, r, d), Values: map[string]string{"email": email}, SocialProviders: socialProviderViews(d)}
			if next != "/" {
				data.Next = next
			}
			status := showError(w, r, d, &data, loginFields, err)
			if e, ok := gatehouse.AsError(err); ok && e.Code == "sso_enforced" && d.Domains != nil {
				if provider, perr := d.Domains.EnforcedProvider(r.Context(), email); perr == nil {
					data.SSOProvider, data.SSOProviderName = provider, httpauth.ProviderName(d, provider)
				}
			}
			renderPage(w, r, status, "login", data)
			return
		}
		httpauth.SetSignedIn(w, r, d, res)
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "login", slog.String("user", res.User.UUID), slog.String("method", "password"), slog.String("client", httpauth.ClientIP(r)))
		if res.NewDevice {
			httpauth.QueueMail(r, d, httpauth.NewDeviceMail(res.User, res.Session))
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}

var signupFields = []string{"first_name", "last_name", "email", "password", "organization_name"}

func HandleSignupPage(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		renderPage(w, r, http.StatusOK, "signup", pageData{CSRFToken: pageCSRFToken(w, r, d)})
	})
}

// handleSignupForm creates an account from the signup form, as
// handleSignup does for the JSON API.
func HandleSignupForm(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !requireFormCSRF(w, r, d) {
			return
		}
		values := map[string]string{}
		for _, f := range signupFields {
			if f != "password" {
				values[f] = r.PostForm.Get(f)
			}
		}
		fail := func(err error) {
			data := pageData{CSRFToken: pageCSRFToken(w, r, d), Values: values}
			status := showError(w, r, d, &data, signupFields, err)
			renderPage(w, r, status, "signup", data)
		}
		var pw *string
		if p := r.PostForm.Get("password"); p != "" {
			pw = &p
		}
		var created *gatehouse.CreatedOrganization
		err := httpauth.WithSignupThrottle(r, d, func() (err error) {
			created, err = httpauth.CreateOwner(r, d, values["first_name"], values["last_name"], values["email"], pw, values["organization_name"])
			return err
		})
		if err != nil {
			fail(err)
			return
		}
		u := created.User
		if d.Verifier != nil {
			// Email is configured: the address is proved before sign-in.
			httpauth.SendVerification(r, d, u)
			renderPage(w, r, http.StatusOK, "check_email", pageData{Email: u.Email})
			return
		}
		if err := signInAndGoHome(w, r, d, u); err != nil {
			fail(err)
		}
	})
}

// handleHomePage shows who is signed in, with a logout button; anonymous
// visitors go to the login page.
func HandleHomePage(d httpauth.Auth) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := httpauth.CallerFrom(r.Context())
		if a == nil {
			// A first run (no account yet) starts at signup.
			to := "/login"
			if d.Members != nil && d.Members.FirstRun(r.Context()) {
				to = "/signup"
			}
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		token := httpauth.EnsureCSRFCookie(w, r, d, a.SessionKey, time.Until(a.Session.ExpiresAt).Round(time.Second))
		renderPage(w, r, http.StatusOK, "home", pageData{CSRFToken: token, Email: a.User.Email})
	}))
}

// handleStatic serves an embedded file (the stylesheet, the login script).
func HandleStatic(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", "public, max-age=3600")
		w.Write(body)
	})
}

// settingsFields are the settings page's inputs, across its forms.
var settingsFields = []string{"first_name", "last_name", "current_password", "password"}

// handleSettingsPage shows the account settings: name, password, sessions.
func HandleSettingsPage(d httpauth.Auth) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := httpauth.CallerFrom(r.Context())
		if a == nil {
			http.Redirect(w, r, "/login?next=/settings", http.StatusFound)
			return
		}
		data := pageData{Notice: settingsNotice(d, r)}
		if code := r.URL.Query().Get("error_code"); code != "" {
			data.Error = ssoErrorMessage(d, code, r.URL.Query().Get("provider"))
		}
		renderSettings(w, r, d, a, http.StatusOK, data)
	}))
}

// settingsNotices are the notices the settings page shows, by the code in
// its ?done= (or ?message=) parameter; an unknown code shows nothing.
var settingsNotices = map[string]string{
	"profile":  "Your name was saved.",
	"password": "Your password was changed. Your other sessions were signed out.",
	"revoke":   "That session was signed out.",
	"linked":   "The sign-in account was linked.",
	"unlinked": "The sign-in account was unlinked.",
}

// settingsNotice is the settings page's notice. Linking and unlinking a
// provider (social.go) also name it, when it is one this instance has.
func settingsNotice(d httpauth.Auth, r *http.Request) string {
	q := r.URL.Query()
	code := q.Get("done")
	if code == "" {
		code = q.Get("message")
	}
	if code == "linked" || code == "unlinked" {
		if name, ok := knownProviderName(d, q.Get("backend")); ok {
			return "Your " + name + " account was " + code + "."
		}
	}
	return settingsNotices[code]
}

func renderSettings(w http.ResponseWriter, r *http.Request, d httpauth.Auth, a *httpauth.Caller, status int, data pageData) {
	data.CSRFToken = httpauth.EnsureCSRFCookie(w, r, d, a.SessionKey, time.Until(a.Session.ExpiresAt).Round(time.Second))
	data.Email = a.User.Email
	if data.Values == nil {
		data.Values = map[string]string{"first_name": a.User.FirstName, "last_name": a.User.LastName}
	}
	sessions, err := d.Accounts.LoginSessions(r.Context(), a.User.ID, time.Now())
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
	}
	for _, s := range sessions {
		data.Sessions = append(data.Sessions, sessionView{ID: s.PublicID, Device: httpauth.ShortUserAgent(s.UserAgent), IP: s.ClientIP,
			LastActive: s.LastActivityAt.UTC().Format("2006-01-02 15:04 UTC"), Current: s.PublicID == a.Session.PublicID})
	}
	if d.SSO != nil {
		links, err := d.SSO.Links(r.Context(), a.User)
		if err != nil {
			status, _, data.Error = pageError(w, r, err)
		}
		for _, l := range links {
			data.SocialLinks = append(data.SocialLinks, socialLinkView{ID: l.ID, Backend: l.Backend, Name: httpauth.ProviderName(d, l.Backend), Email: l.Email})
		}
	}
	if d.SocialProviders != nil {
		data.SocialProviders = socialProviderViews(d)
	}
	renderPage(w, r, status, "settings", data)
}

// socialLinkView is one linked sign-in provider on the settings page.
type socialLinkView struct{ ID, Backend, Name, Email string }

// handleSettingsForm applies one of the settings forms. The session check
// (withSession) has already verified the form's CSRF token.
func HandleSettingsForm(d httpauth.Auth, form string) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := httpauth.CallerFrom(r.Context())
		if a == nil {
			http.Redirect(w, r, "/login?next=/settings", http.StatusSeeOther)
			return
		}
		if err := httpauth.ParseFormBody(w, r); err != nil {
			httpauth.WriteText(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
		var err error
		switch form {
		case "profile":
			first, last := r.PostForm.Get("first_name"), r.PostForm.Get("last_name")
			_, err = d.Accounts.UpdateProfile(r.Context(), a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey),
				gatehouse.ProfileChange{FirstName: &first, LastName: &last}, time.Now())
		case "password":
			current, next := gatehouse.Secret(r.PostForm.Get("current_password")), gatehouse.Secret(r.PostForm.Get("password"))
			var changed bool
			changed, err = d.Accounts.UpdateProfile(r.Context(), a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey),
				gatehouse.ProfileChange{Password: &next, CurrentPassword: &current, ClientIP: httpauth.ClientIP(r)}, time.Now())
			if changed {
				httpauth.QueueMail(r, d, mail.PasswordChangedNotice(a.User.Email))
			}
		case "revoke":
			err = d.Accounts.RevokeSession(r.Context(), a.User.ID, a.Session, r.PathValue("id"), time.Now())
		}
		if err != nil {
			data := pageData{}
			if form == "profile" {
				data.Values = map[string]string{"first_name": r.PostForm.Get("first_name"), "last_name": r.PostForm.Get("last_name")}
			}
			status := showError(w, r, d, &data, settingsFields, err)
			renderSettings(w, r, d, a, status, data)
			return
		}
		http.Redirect(w, r, "/settings?done="+form, http.StatusSeeOther)
	}))
}

// resetSentNotice is shown after a reset request, whether or not the email
// has an account.
const resetSentNotice = "If an account uses that email, we sent it a link to reset the password. The link works for 24 hours."

func HandleResetRequestPage(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		renderPage(w, r, http.StatusOK, "reset_request", pageData{CSRFToken: pageCSRFToken(w, r, d)})
	})
}

func HandleResetRequestForm(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !requireFormCSRF(w, r, d) {
			return
		}
		email := r.PostForm.Get("email")
		data := pageData{CSRFToken: pageCSRFToken(w, r, d), Values: map[string]string{"email": email}}
		if err := d.Reset.Request(r.Context(), email, httpauth.ClientIP(r)); err != nil {
			status := showError(w, r, d, &data, []string{"email"}, err)
			renderPage(w, r, status, "reset_request", data)
			return
		}
		data.Notice = resetSentNotice
		renderPage(w, r, http.StatusOK, "reset_request", data)
	})
}

// resetAction is the form's own path; the token in it is never logged
// (the request log redacts /reset/…).
func resetAction(r *http.Request) string {
	return "/reset/" + url.PathEscape(r.PathValue("uuid")) + "/" + url.PathEscape(r.PathValue("token"))
}

func HandleResetPage(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := pageData{CSRFToken: pageCSRFToken(w, r, d)}
		if err := d.Reset.Validate(r.Context(), r.PathValue("uuid"), r.PathValue("token")); err != nil {
			status, _, msg := pageError(w, r, err)
			data.Error = msg
			renderPage(w, r, status, "reset_form", data)
			return
		}
		data.Next = resetAction(r)
		renderPage(w, r, http.StatusOK, "reset_form", data)
	})
}

func HandleResetForm(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !requireFormCSRF(w, r, d) {
			return
		}
		_, err := d.Reset.Complete(r.Context(), r.PathValue("uuid"), r.PathValue("token"), gatehouse.Secret(r.PostForm.Get("password")))
		if err != nil {
			data := pageData{CSRFToken: pageCSRFToken(w, r, d)}
			status := showError(w, r, d, &data, []string{"password"}, err)
			if data.Errors != nil {
				data.Next = resetAction(r) // a weak password: the link still works
			}
			renderPage(w, r, status, "reset_form", data)
			return
		}
		http.Redirect(w, r, "/login?message=password_changed", http.StatusSeeOther)
	})
}

var inviteFields = []string{"first_name", "last_name", "password"}

// invitePage fills the invite page's data, or reports why the invite
// cannot be used.
func invitePage(w http.ResponseWriter, r *http.Request, d httpauth.Auth, data *pageData) (status int, ok bool) {
	inv, org, err := d.Invites.Lookup(r.Context(), r.PathValue("invite"))
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
		data.Values = map[string]string{"organization": "an organization"}
		return status, false
	}
	if data.Values == nil {
		data.Values = map[string]string{"first_name": inv.FirstName}
	}
	data.Values["organization"] = org.Name
	data.Email = inv.TargetEmail
	data.Next = "/signup/" + url.PathEscape(inv.ID)
	return http.StatusOK, true
}

// handleInvitePage shows the form that accepts an invite: a new account's
// fields, or for a signed-in user a button that joins with their account.
func HandleInvitePage(d httpauth.Auth) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := pageData{CSRFToken: pageCSRFToken(w, r, d)}
		if a := httpauth.CallerFrom(r.Context()); a != nil {
			data.SignedInAs = a.User.Email
		}
		status, _ := invitePage(w, r, d, &data)
		renderPage(w, r, status, "invite", data)
	}))
}

// handleInviteForm creates the invitee's account and signs them in, or
// adds the signed-in user to the organization.
func HandleInviteForm(d httpauth.Auth) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !requireFormCSRF(w, r, d) {
			return
		}
		a := httpauth.CallerFrom(r.Context())
		fail := func(err error) {
			data := pageData{CSRFToken: pageCSRFToken(w, r, d),
				Values: map[string]string{"first_name": r.PostForm.Get("first_name"), "last_name": r.PostForm.Get("last_name")}}
			if a != nil {
				data.SignedInAs = a.User.Email
			}
			status := showError(w, r, d, &data, inviteFields, err)
			if s, ok := invitePage(w, r, d, &data); !ok {
				status = s
			}
			renderPage(w, r, status, "invite", data)
		}
		if a != nil {
			if err := d.Invites.JoinWithInvite(r.Context(), r.PathValue("invite"), a.User); err != nil {
				fail(err)
				return
			}
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		var user *gatehouse.User
		err := httpauth.WithSignupThrottle(r, d, func() (err error) {
			user, err = d.Invites.SignupWithInvite(r.Context(), r.PathValue("invite"), r.PostForm.Get("first_name"), r.PostForm.Get("last_name"),
				gatehouse.Secret(r.PostForm.Get("password")))
			return err
		})
		if err != nil {
			fail(err)
			return
		}
		// The invite does not prove the address: a mailed link does.
		httpauth.SendVerification(r, d, user)
		if err := signInAndGoHome(w, r, d, user); err != nil {
			fail(err)
		}
	}))
}

// handleVerifyEmailPage is where the verification link lands. It asks for
// a click rather than verifying on GET, so mail scanners that fetch links
// do not spend the token.
func HandleVerifyEmailPage(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data := pageData{CSRFToken: pageCSRFToken(w, r, d),
			Next: "/verify_email/" + url.PathEscape(r.PathValue("uuid")) + "/" + url.PathEscape(r.PathValue("token"))}
		renderPage(w, r, http.StatusOK, "verify_email", data)
	})
}

// handleVerifyEmailForm verifies the address and signs the user in.
func HandleVerifyEmailForm(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !requireFormCSRF(w, r, d) {
			return
		}
		fail := func(err error) {
			data := pageData{CSRFToken: pageCSRFToken(w, r, d)}
			status, _, msg := pageError(w, r, err)
			data.Error = msg
			renderPage(w, r, status, "verify_email", data)
		}
		if gatehouse.IsEmailChangeToken(r.PathValue("token")) {
			// An email change signs nobody in: the user signs in anew.
			if err := httpauth.ConfirmEmailChange(r, d, r.PathValue("uuid"), r.PathValue("token")); err != nil {
				fail(err)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if d.Verifier == nil {
			fail(gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance."))
			return
		}
		user, err := d.Verifier.Verify(r.Context(), r.PathValue("uuid"), r.PathValue("token"))
		if err != nil {
			fail(err)
			return
		}
		if err := signInAndGoHome(w, r, d, user); err != nil {
			fail(err)
		}
	})
}

// signInAndGoHome starts a session for a user a page has just
// authenticated (signup, invite, verified email) and sends the browser home.
func signInAndGoHome(w http.ResponseWriter, r *http.Request, d httpauth.Auth, user *gatehouse.User) error {
	if err := httpauth.SignIn(w, r, d, user, "password"); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
