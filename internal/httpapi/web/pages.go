package web

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/sso/oauth"
)

// The server-rendered pages: login, signup and a minimal home page. They
// work without JavaScript: plain forms, CSRF tokens in a hidden field
// (double submit against the posthog_csrftoken cookie), errors shown next
// to the field they are about.

//go:embed templates/*.html
var templateFS embed.FS

// Stylesheet is the pages' stylesheet, served at /static/gatehouse.css.
//
//go:embed static/gatehouse.css
var Stylesheet []byte

// LoginScript hides the password field when the email's domain enforces
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

// Layout is what layout.html reads on every page; each page's data
// embeds it.
type Layout struct {
	// CSRFToken goes in the hidden field of the page's forms.
	CSRFToken string
	// Notice is informational text at the top.
	Notice string
	// Error is an error about no one field, at the top.
	Error string
	// Nav is the navigation bar of a signed-in page; renderPage fills it
	// from the request (an empty Email: no bar).
	Nav navView
}

func (l *Layout) layout() *Layout { return l }

// navView is what the navigation bar shows: who is signed in and which
// section the page belongs to ("home", "project", "organization",
// "account").
type navView struct {
	Email, Section string
}

// sectionOf is the navigation section of a page's path.
func sectionOf(path string) string {
	switch {
	case path == "/":
		return "home"
	case path == "/project" || strings.HasPrefix(path, "/project/"):
		return "project"
	case path == "/organization" || strings.HasPrefix(path, "/organization/"),
		strings.HasPrefix(path, "/settings/domains"), strings.HasPrefix(path, "/settings/audit_log"):
		return "organization"
	case path == "/account" || strings.HasPrefix(path, "/account/"), path == "/settings" || strings.HasPrefix(path, "/settings/"):
		return "account"
	}
	return ""
}

// confirmView is a destructive action behind a confirmation step: a
// button that opens a question and the form that does it (no script).
type confirmView struct {
	Action, Label, Question, Confirm, CSRFToken string
}

// Confirm describes a destructive form for the "confirm" template: label
// opens the question, confirm posts to action.
func (l *Layout) Confirm(action, label, question, confirm string) confirmView {
	return confirmView{Action: action, Label: label, Question: question, Confirm: confirm, CSRFToken: l.CSRFToken}
}

// Form is what a page with a form keeps between tries; the "field"
// template draws each input from it (Field).
type Form struct {
	// Values are the submitted fields to show again (never a password).
	Values map[string]string
	// Errors are the messages about single fields, by field name.
	Errors map[string]string
}

func (f *Form) form() *Form { return f }

// fieldView is one labelled input, as the "field" template draws it.
type fieldView struct {
	Name, Label, Type, Autocomplete string
	Value, Error                    string
	Required                        bool
}

// Field describes the input name with its kept value and its error.
func (f *Form) Field(name, label, typ, autocomplete string) fieldView {
	v := fieldView{Name: name, Label: label, Type: typ, Autocomplete: autocomplete, Error: f.Errors[name],
		Required: name != "last_name" && name != "organization_name"}
	if typ != "password" {
		v.Value = f.Values[name]
	}
	return v
}

// page is one template's data: a struct that embeds Layout and names its
// template.
type page interface {
	template() string
	layout() *Layout
}

// formPage is a page with inputs an error can be shown next to.
type formPage interface {
	page
	form() *Form
}

// LoginPage is what login.html shows.
type LoginPage struct {
	Layout
	Form
	// Next is where to go after signing in ("" for "/").
	Next string
	// SSOProvider is the sign-in method the email's domain enforces: the
	// password field is hidden and the user told to use it.
	SSOProvider string
	// SSOProviderName is what the page calls SSOProvider ("Google", "SAML").
	SSOProviderName string
	// SocialProviders are the configured social login backends, each a
	// link to /login/<name>/.
	SocialProviders []socialProviderView
}

// SignupPage is what signup.html shows.
type SignupPage struct {
	Layout
	Form
}

// CheckEmailPage is what check_email.html shows after a signup that must
// verify its address.
type CheckEmailPage struct {
	Layout
	Email string // where the link went
}

// HomePage is what home.html shows: where the signed-in user is, the
// project token with a capture example, and what to set up next.
type HomePage struct {
	Layout
	Email        string // the signed-in user's
	Organization string // the current organization's name ("" if none)
	Project      string // the current project's name ("" if none)
	// Token is the current project's public phc_ token.
	Token string
	// Curl is a capture request with Token, ready to paste in a shell.
	Curl string
	// IsAdmin: the user may invite people to the organization.
	IsAdmin bool
}

// SettingsPage is what settings.html shows.
type SettingsPage struct {
	Layout
	Form
	Email string // the signed-in user's
	// Sessions are the signed-in user's sessions.
	Sessions []sessionView
	// SocialLinks are the signed-in user's linked providers.
	SocialLinks []socialLinkView
	// SocialProviders are the providers the user can link.
	SocialProviders []socialProviderView
}

// ResetRequestPage is what reset_request.html shows.
type ResetRequestPage struct {
	Layout
	Form
}

// ResetFormPage is what reset_form.html shows.
type ResetFormPage struct {
	Layout
	Form
	// Action is where the new password is posted; "" when the link does
	// not work (the page then offers a new one).
	Action string
}

// InvitePage is what invite.html shows.
type InvitePage struct {
	Layout
	Form
	Organization string // the name of the organization the invite is to
	Email        string // the address the invite was sent to
	// SignedInAs is the signed-in user's email: they may join with their
	// account rather than make a new one.
	SignedInAs string
	// Action is where the form posts; "" when the invite cannot be used.
	Action string
}

// VerifyEmailPage is what verify_email.html shows.
type VerifyEmailPage struct {
	Layout
	// Action is where the click posts; "" after a failure.
	Action string
}

func (*LoginPage) template() string        { return "login" }
func (*SignupPage) template() string       { return "signup" }
func (*CheckEmailPage) template() string   { return "check_email" }
func (*HomePage) template() string         { return "home" }
func (*SettingsPage) template() string     { return "settings" }
func (*ResetRequestPage) template() string { return "reset_request" }
func (*ResetFormPage) template() string    { return "reset_form" }
func (*InvitePage) template() string       { return "invite" }
func (*VerifyEmailPage) template() string  { return "verify_email" }

// sessionView is one row of the settings page's session list.
type sessionView struct {
	ID, Device, IP, LastActive string
	Current                    bool
}

// renderPage writes a page. Pages carry forms and per-user content, so
// none is cached.
func renderPage(w http.ResponseWriter, r *http.Request, status int, p page) {
	name := p.template()
	if l := p.layout(); l.Nav.Email == "" && l.CSRFToken != "" {
		// The bar's Log out button needs the session's token, which
		// every signed-in page sets.
		if a := pageUser(r); a != nil {
			l.Nav = navView{Email: a.User.Email, Section: sectionOf(r.URL.Path)}
		}
	}
	var buf bytes.Buffer
	if err := pageTemplates[name].ExecuteTemplate(&buf, "layout", p); err != nil {
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

// Handler is a page handler that returns its error instead of writing
// it, as httpauth.Handler is for the JSON API. An error onPage made is
// shown on its page; a form the page cannot take (errCSRFFailed,
// errFormUnreadable) is answered in plain text; any other error is
// written by httpauth.WriteError, as the JSON envelope.
type Handler func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP runs h and writes the error it returns.
func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	httpauth.Handler(h.Serve).ServeHTTP(w, r)
}

// Serve runs h, answers the errors that are about the page, and returns
// the others to its caller's writer (httpauth.Handler, Auth.Session).
func (h Handler) Serve(w http.ResponseWriter, r *http.Request) error {
	err := h(w, r)
	if err == nil {
		return nil
	}
	var shown *pageFailure
	if errors.As(err, &shown) {
		shown.show(w, r)
		return nil
	}
	var plain *plainAnswer
	if errors.As(err, &plain) {
		httpauth.WriteText(w, plain.status, plain.text)
		return nil
	}
	return err
}

// pageFailure is an error to show on a page (onPage).
type pageFailure struct {
	err    error
	page   page
	fields []string
	// draw draws the page at status; nil: renderPage.
	draw func(status int)
}

func (f *pageFailure) Error() string { return f.err.Error() }

// onPage returns err to be shown on p at the status pageError gives: next
// to its field when p has a form with that field among fields, otherwise
// at the top.
func onPage(err error, p page, fields ...string) *pageFailure {
	return &pageFailure{err: err, page: p, fields: fields}
}

// drawnBy makes draw what shows the page, for pages that load more than p
// holds (or change it once the error is placed).
func (f *pageFailure) drawnBy(draw func(status int)) *pageFailure {
	f.draw = draw
	return f
}

func (f *pageFailure) show(w http.ResponseWriter, r *http.Request) {
	status, field, msg := pageError(w, r, f.err)
	if fp, ok := f.page.(formPage); ok && field != "" && slices.Contains(f.fields, field) {
		fp.form().Errors = map[string]string{field: msg}
	} else {
		f.page.layout().Error = msg
	}
	if f.draw != nil {
		f.draw(status)
		return
	}
	renderPage(w, r, status, f.page)
}

// plainAnswer is an error answered in plain text: a form post the page
// cannot take at all.
type plainAnswer struct {
	status int
	text   string
}

func (e *plainAnswer) Error() string { return e.text }

var (
	errCSRFFailed     = &plainAnswer{http.StatusForbidden, CSRFFailedText}
	errFormUnreadable = &plainAnswer{http.StatusBadRequest, "The form could not be read."}
)

// checkForm checks a form post: a url-encoded body of clean text, sent
// from this site (Origin), with the right CSRF token (the session's own
// when signed in). Its error answers 415, 400 or 403 (errCSRFFailed).
// Login and signup have no session yet, so this is what stops login CSRF.
func checkForm(w http.ResponseWriter, r *http.Request, auth *httpauth.Auth) error {
	var err error
	switch {
	case httpauth.CrossOrigin(r, auth.SiteURL) != nil:
	case !httpauth.IsFormPost(r):
		err = httpauth.ErrUnsupportedMediaType(r.Header.Get("Content-Type"))
	default:
		if err = httpauth.ParseFormBody(w, r); err == nil {
			sessionKey := ""
			if a := pageUser(r); a != nil {
				sessionKey = a.SessionKey
			}
			if httpauth.CsrfOK(r, *auth, sessionKey) {
				return nil
			}
		}
	}
	h := w.Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	if err != nil {
		return err
	}
	return errCSRFFailed
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
	"logged_out":        "You are logged out.",
}

// loginMessage is the login page's notice for its ?message= code; an
// unknown code shows nothing.
func loginMessage(r *http.Request) string {
	return loginNotices[r.URL.Query().Get("message")]
}

// pageCSRFToken sets the CSRF cookie and returns the token for the form's
// hidden field: the session's own when signed in, otherwise a random
// browser-session token.
func pageCSRFToken(w http.ResponseWriter, r *http.Request, auth *httpauth.Auth) string {
	if a := pageUser(r); a != nil {
		return httpauth.EnsureCSRFCookie(w, r, *auth, a.SessionKey, time.Until(a.Session.ExpiresAt).Round(time.Second))
	}
	return httpauth.EnsureCSRFCookie(w, r, *auth, "", 0)
}

// sessionCSRFToken sets the CSRF cookie of a signed-in caller's session
// and returns its token.
func sessionCSRFToken(w http.ResponseWriter, r *http.Request, auth *httpauth.Auth, a *httpauth.Caller) string {
	return httpauth.EnsureCSRFCookie(w, r, *auth, a.SessionKey, time.Until(a.Session.ExpiresAt).Round(time.Second))
}

// HandleStatic serves an embedded file (the stylesheet, the scripts).
func HandleStatic(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", contentType)
		h.Set("Cache-Control", "public, max-age=3600")
		w.Write(body)
	})
}

// Pages serves the account pages: login, signup, home, settings, password
// reset, invites and email verification.
type Pages struct {
	Auth     *httpauth.Auth // CSRF tokens, sign-in, security emails
	Sessions *gatehouse.AuthService
	Accounts *gatehouse.AccountService
	// Members tells a first run (no account yet), which starts at signup.
	Members *gatehouse.MemberService
	Invites *gatehouse.InviteService
	Reset   *gatehouse.ResetService
	// Verifier is nil when email is not configured.
	Verifier *gatehouse.EmailVerifier
	// Domains answers which sign-in method an email's domain enforces.
	Domains *gatehouse.DomainService
	// SSO lists the settings page's linked providers; nil: none.
	SSO *gatehouse.SSOService
	// SocialProviders are the login page's buttons and the settings
	// page's links.
	SocialProviders *oauth.Registry
	// SAMLAvailable: SAML sign-in exists on this instance (a settings
	// notice may name it).
	SAMLAvailable bool
}

var loginFields = []string{"email", "password"}

// Login shows the login form.
func (h *Pages) Login(w http.ResponseWriter, r *http.Request) error {
	data := &LoginPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth), Notice: loginMessage(r),
		Error: ssoErrorMessage(h.SocialProviders, r.URL.Query().Get("error_code"), r.URL.Query().Get("provider"))},
		SocialProviders: socialProviderViews(h.SocialProviders)}
	if next := safeNext(r.URL.Query().Get("next")); next != "/" {
		data.Next = next
	}
	renderPage(w, r, http.StatusOK, data)
	return nil
}

// LoginForm signs in from the login form, as the JSON API's login does,
// and redirects to next (a path on this site) or "/".
func (h *Pages) LoginForm(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	email := r.PostForm.Get("email")
	next := safeNext(r.PostForm.Get("next"))
	_, err := httpauth.PasswordLogin(w, r, *h.Auth, email, gatehouse.Secret(r.PostForm.Get("password")))
	if err != nil {
		if secondStepPage(w, r, h.Auth, err, next) {
			return nil
		}
		data := &LoginPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}, Form: Form{Values: map[string]string{"email": email}},
			SocialProviders: socialProviderViews(h.SocialProviders)}
		if next != "/" {
			data.Next = next
		}
		if e, ok := gatehouse.AsError(err); ok && e.Code == "sso_enforced" && h.Domains != nil {
			if provider, perr := h.Domains.EnforcedProvider(r.Context(), email); perr == nil {
				data.SSOProvider, data.SSOProviderName = provider, httpauth.ProviderName(*h.Auth, provider)
			}
		}
		return onPage(err, data, loginFields...)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

var signupFields = []string{"first_name", "last_name", "email", "password", "organization_name"}

// Signup shows the signup form.
func (h *Pages) Signup(w http.ResponseWriter, r *http.Request) error {
	renderPage(w, r, http.StatusOK, &SignupPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}})
	return nil
}

// SignupForm creates an account from the signup form, as the JSON API's
// signup does.
func (h *Pages) SignupForm(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	values := map[string]string{}
	for _, f := range signupFields {
		if f != "password" {
			values[f] = r.PostForm.Get(f)
		}
	}
	fail := func(err error) error {
		return onPage(err, &SignupPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}, Form: Form{Values: values}}, signupFields...)
	}
	var pw *string
	if p := r.PostForm.Get("password"); p != "" {
		pw = &p
	}
	var created *gatehouse.CreatedOrganization
	err := httpauth.WithSignupThrottle(r, *h.Auth, func() (err error) {
		created, err = httpauth.CreateOwner(r, *h.Auth, values["first_name"], values["last_name"], values["email"], pw, values["organization_name"])
		return err
	})
	if err != nil {
		return fail(err)
	}
	u := created.User
	if h.Verifier != nil {
		// Email is configured: the address is proved before sign-in.
		httpauth.SendVerification(r, *h.Auth, u)
		renderPage(w, r, http.StatusOK, &CheckEmailPage{Email: u.Email})
		return nil
	}
	if err := signInAndGoHome(w, r, h.Auth, u); err != nil {
		return fail(err)
	}
	return nil
}

// Home shows who is signed in, with a logout button; anonymous visitors
// go to the login page.
func (h *Pages) Home(w http.ResponseWriter, r *http.Request) error {
	a := httpauth.CallerFrom(r.Context())
	if a == nil {
		// A first run (no account yet) starts at signup.
		to := "/login"
		if h.Members != nil && h.Members.FirstRun(r.Context()) {
			to = "/signup"
		}
		http.Redirect(w, r, to, http.StatusFound)
		return nil
	}
	data := &HomePage{Layout: Layout{CSRFToken: sessionCSRFToken(w, r, h.Auth, a)}, Email: a.User.Email}
	status := http.StatusOK
	p, err := h.Accounts.Profile(r.Context(), a.User)
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
	} else {
		if p.Organization != nil {
			data.Organization = p.Organization.Name
		}
		if p.Membership != nil {
			data.IsAdmin = p.Membership.Level >= gatehouse.LevelAdmin
		}
		if p.Project != nil {
			data.Project, data.Token = p.Project.Name, p.Project.APIToken
			data.Curl = captureExample(h.Auth.SiteURL, p.Project.APIToken)
		}
	}
	renderPage(w, r, status, data)
	return nil
}

// captureExample is a curl command that sends one event to the project
// with token through this instance's capture endpoint.
func captureExample(site *url.URL, token string) string {
	base := "http://localhost:8000"
	if site != nil && site.Host != "" {
		base = strings.TrimSuffix(site.String(), "/")
	}
	body := `{"api_key": "` + token + `", "event": "hello from curl", "distinct_id": "user-1", "properties": {"source": "gatehouse home page"}}`
	return "curl -X POST " + base + "/i/v0/e/ \\\n  -H 'Content-Type: application/json' \\\n  -d '" + body + "'"
}

// settingsFields are the settings page's inputs, across its forms.
var settingsFields = []string{"first_name", "last_name", "current_password", "password"}

// Settings shows the account settings: name, password, sessions, linked
// providers.
func (h *Pages) Settings(w http.ResponseWriter, r *http.Request) error {
	a := httpauth.CallerFrom(r.Context())
	if a == nil {
		http.Redirect(w, r, "/login?next=/settings", http.StatusFound)
		return nil
	}
	data := &SettingsPage{Layout: Layout{Notice: settingsNotice(h.Auth, h.SAMLAvailable, r)}}
	if code := r.URL.Query().Get("error_code"); code != "" {
		data.Error = ssoErrorMessage(h.SocialProviders, code, r.URL.Query().Get("provider"))
	}
	h.renderSettings(w, r, a, http.StatusOK, data)
	return nil
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
func settingsNotice(auth *httpauth.Auth, samlOn bool, r *http.Request) string {
	q := r.URL.Query()
	code := q.Get("done")
	if code == "" {
		code = q.Get("message")
	}
	if code == "linked" || code == "unlinked" {
		if name, ok := knownProviderName(auth, samlOn, q.Get("backend")); ok {
			return "Your " + name + " account was " + code + "."
		}
	}
	return settingsNotices[code]
}

// renderSettings draws the settings page with what data already holds
// (kept values, an error), the user's sessions and linked providers.
func (h *Pages) renderSettings(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, status int, data *SettingsPage) {
	data.CSRFToken = sessionCSRFToken(w, r, h.Auth, a)
	data.Email = a.User.Email
	if data.Values == nil {
		data.Values = map[string]string{"first_name": a.User.FirstName, "last_name": a.User.LastName}
	}
	sessions, err := h.Accounts.LoginSessions(r.Context(), a.User.ID, time.Now())
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
	}
	for _, s := range sessions {
		data.Sessions = append(data.Sessions, sessionView{ID: s.PublicID, Device: httpauth.ShortUserAgent(s.UserAgent), IP: s.ClientIP,
			LastActive: s.LastActivityAt.UTC().Format("2006-01-02 15:04 UTC"), Current: s.PublicID == a.Session.PublicID})
	}
	if h.SSO != nil {
		links, err := h.SSO.Links(r.Context(), a.User)
		if err != nil {
			status, _, data.Error = pageError(w, r, err)
		}
		for _, l := range links {
			data.SocialLinks = append(data.SocialLinks, socialLinkView{ID: l.ID, Backend: l.Backend, Name: httpauth.ProviderName(*h.Auth, l.Backend), Email: l.Email})
		}
	}
	if h.SocialProviders != nil {
		data.SocialProviders = socialProviderViews(h.SocialProviders)
	}
	renderPage(w, r, status, data)
}

// socialLinkView is one linked sign-in provider on the settings page.
type socialLinkView struct{ ID, Backend, Name, Email string }

// Profile saves the settings page's name form.
func (h *Pages) Profile(w http.ResponseWriter, r *http.Request) error {
	return h.settingsForm(w, r, "profile")
}

// Password applies the settings page's password form.
func (h *Pages) Password(w http.ResponseWriter, r *http.Request) error {
	return h.settingsForm(w, r, "password")
}

// RevokeSession signs out one of the user's other sessions.
func (h *Pages) RevokeSession(w http.ResponseWriter, r *http.Request) error {
	return h.settingsForm(w, r, "revoke")
}

// settingsForm applies one of the settings forms. The session check
// (Auth.Session) has already verified the form's CSRF token.
func (h *Pages) settingsForm(w http.ResponseWriter, r *http.Request, form string) error {
	a := httpauth.CallerFrom(r.Context())
	if a == nil {
		http.Redirect(w, r, "/login?next=/settings", http.StatusSeeOther)
		return nil
	}
	if err := httpauth.ParseFormBody(w, r); err != nil {
		return errFormUnreadable
	}
	var err error
	switch form {
	case "profile":
		first, last := r.PostForm.Get("first_name"), r.PostForm.Get("last_name")
		_, err = h.Accounts.UpdateProfile(r.Context(), a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey),
			gatehouse.ProfileChange{FirstName: &first, LastName: &last}, time.Now())
	case "password":
		current, next := gatehouse.Secret(r.PostForm.Get("current_password")), gatehouse.Secret(r.PostForm.Get("password"))
		var changed bool
		changed, err = h.Accounts.UpdateProfile(r.Context(), a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey),
			gatehouse.ProfileChange{Password: &next, CurrentPassword: &current, ClientIP: httpauth.ClientIP(r)}, time.Now())
		if changed {
			httpauth.QueueMail(r, *h.Auth, mail.PasswordChangedNotice(a.User.Email))
		}
	case "revoke":
		err = h.Accounts.RevokeSession(r.Context(), a.User.ID, a.Session, r.PathValue("id"), time.Now())
	}
	if err != nil {
		data := &SettingsPage{}
		if form == "profile" {
			data.Values = map[string]string{"first_name": r.PostForm.Get("first_name"), "last_name": r.PostForm.Get("last_name")}
		}
		return onPage(err, data, settingsFields...).drawnBy(func(status int) { h.renderSettings(w, r, a, status, data) })
	}
	http.Redirect(w, r, "/settings?done="+form, http.StatusSeeOther)
	return nil
}

// resetSentNotice is shown after a reset request, whether or not the email
// has an account.
const resetSentNotice = "If an account uses that email, we sent it a link to reset the password. The link works for 24 hours."

// ResetRequest shows the form that asks for a reset link.
func (h *Pages) ResetRequest(w http.ResponseWriter, r *http.Request) error {
	renderPage(w, r, http.StatusOK, &ResetRequestPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}})
	return nil
}

// ResetRequestForm mails a reset link, if the email has an account.
func (h *Pages) ResetRequestForm(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	email := r.PostForm.Get("email")
	data := &ResetRequestPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}, Form: Form{Values: map[string]string{"email": email}}}
	if err := h.Reset.Request(r.Context(), email, httpauth.ClientIP(r)); err != nil {
		return onPage(err, data, "email")
	}
	data.Notice = resetSentNotice
	renderPage(w, r, http.StatusOK, data)
	return nil
}

// resetAction is the form's own path; the token in it is never logged
// (the request log redacts /reset/…).
func resetAction(r *http.Request) string {
	return "/reset/" + url.PathEscape(r.PathValue("uuid")) + "/" + url.PathEscape(r.PathValue("token"))
}

// ResetPassword is where a reset link lands: the new-password form, or
// why the link does not work.
func (h *Pages) ResetPassword(w http.ResponseWriter, r *http.Request) error {
	data := &ResetFormPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}}
	if err := h.Reset.Validate(r.Context(), r.PathValue("uuid"), r.PathValue("token")); err != nil {
		return onPage(err, data)
	}
	data.Action = resetAction(r)
	renderPage(w, r, http.StatusOK, data)
	return nil
}

// ResetPasswordForm sets the new password and sends the browser to log in.
func (h *Pages) ResetPasswordForm(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	_, err := h.Reset.Complete(r.Context(), r.PathValue("uuid"), r.PathValue("token"), gatehouse.Secret(r.PostForm.Get("password")))
	if err != nil {
		data := &ResetFormPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}}
		return onPage(err, data, "password").drawnBy(func(status int) {
			if data.Errors != nil {
				data.Action = resetAction(r) // a weak password: the link still works
			}
			renderPage(w, r, status, data)
		})
	}
	http.Redirect(w, r, "/login?message=password_changed", http.StatusSeeOther)
	return nil
}

var inviteFields = []string{"first_name", "last_name", "password"}

// loadInvite fills the invite page's data, or reports why the invite
// cannot be used.
func (h *Pages) loadInvite(w http.ResponseWriter, r *http.Request, data *InvitePage) (status int, ok bool) {
	inv, org, err := h.Invites.Lookup(r.Context(), r.PathValue("invite"))
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
		data.Organization = "an organization"
		return status, false
	}
	if data.Values == nil {
		data.Values = map[string]string{"first_name": inv.FirstName}
	}
	data.Organization = org.Name
	data.Email = inv.TargetEmail
	data.Action = "/signup/" + url.PathEscape(inv.ID)
	return http.StatusOK, true
}

// Invite shows the form that accepts an invite: a new account's fields,
// or for a signed-in user a button that joins with their account.
func (h *Pages) Invite(w http.ResponseWriter, r *http.Request) error {
	data := &InvitePage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}}
	if a := httpauth.CallerFrom(r.Context()); a != nil {
		data.SignedInAs = a.User.Email
	}
	status, _ := h.loadInvite(w, r, data)
	renderPage(w, r, status, data)
	return nil
}

// InviteForm creates the invitee's account and signs them in, or adds the
// signed-in user to the organization.
func (h *Pages) InviteForm(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	a := httpauth.CallerFrom(r.Context())
	fail := func(err error) error {
		data := &InvitePage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)},
			Form: Form{Values: map[string]string{"first_name": r.PostForm.Get("first_name"), "last_name": r.PostForm.Get("last_name")}}}
		if a != nil {
			data.SignedInAs = a.User.Email
		}
		return onPage(err, data, inviteFields...).drawnBy(func(status int) {
			if s, ok := h.loadInvite(w, r, data); !ok {
				status = s
			}
			renderPage(w, r, status, data)
		})
	}
	if a != nil {
		if err := h.Invites.JoinWithInvite(r.Context(), r.PathValue("invite"), a.User); err != nil {
			return fail(err)
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	var user *gatehouse.User
	err := httpauth.WithSignupThrottle(r, *h.Auth, func() (err error) {
		user, err = h.Invites.SignupWithInvite(r.Context(), r.PathValue("invite"), r.PostForm.Get("first_name"), r.PostForm.Get("last_name"),
			gatehouse.Secret(r.PostForm.Get("password")))
		return err
	})
	if err != nil {
		return fail(err)
	}
	// The invite does not prove the address: a mailed link does.
	httpauth.SendVerification(r, *h.Auth, user)
	if err := signInAndGoHome(w, r, h.Auth, user); err != nil {
		return fail(err)
	}
	return nil
}

// VerifyEmail is where the verification link lands. It asks for a click
// rather than verifying on GET, so mail scanners that fetch links do not
// spend the token.
func (h *Pages) VerifyEmail(w http.ResponseWriter, r *http.Request) error {
	renderPage(w, r, http.StatusOK, &VerifyEmailPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)},
		Action: "/verify_email/" + url.PathEscape(r.PathValue("uuid")) + "/" + url.PathEscape(r.PathValue("token"))})
	return nil
}

// VerifyEmailForm verifies the address and signs the user in.
func (h *Pages) VerifyEmailForm(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	fail := func(err error) error {
		return onPage(err, &VerifyEmailPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}})
	}
	if gatehouse.IsEmailChangeToken(r.PathValue("token")) {
		// An email change signs nobody in: the user signs in anew.
		if err := httpauth.ConfirmEmailChange(r, *h.Auth, r.PathValue("uuid"), r.PathValue("token")); err != nil {
			return fail(err)
		}
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	if h.Verifier == nil {
		return fail(gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance."))
	}
	user, err := h.Verifier.Verify(r.Context(), r.PathValue("uuid"), r.PathValue("token"))
	if err != nil {
		return fail(err)
	}
	if err := signInAndGoHome(w, r, h.Auth, user); err != nil {
		return fail(err)
	}
	return nil
}

// signInAndGoHome starts a session for a user a page has just
// authenticated (signup, invite, verified email) and sends the browser home.
func signInAndGoHome(w http.ResponseWriter, r *http.Request, auth *httpauth.Auth, user *gatehouse.User) error {
	if _, err := httpauth.StartSession(w, r, *auth, user, httpauth.LoginStep{Method: "password", NewAccount: true}); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}
