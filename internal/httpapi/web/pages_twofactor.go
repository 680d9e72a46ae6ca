package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"rsc.io/qr"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

// The two-factor pages: /settings/two_factor (TOTP set-up with a QR code
// drawn here, backup codes, disabling, trusted devices), the second login
// step at /login/token, and email MFA's "check your email" and landing
// pages. Like the other pages they work without JavaScript, and they call
// the same services as the JSON API in twofactor.go.

func init() {
	for _, name := range []string{"twofactor", "login_token", "email_mfa", "email_mfa_sent"} {
		pageTemplates[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
}

// TwoFactorPage is what twofactor.html shows: /settings/two_factor in
// its current state.
type TwoFactorPage struct {
	Layout
	Form
	Email                string // the signed-in user's
	Enabled              bool
	BackupCodesRemaining int
	// EmailMFA: without TOTP, new browsers confirm sign-ins by email.
	EmailMFA bool
	// Secret and QR are a set-up waiting for its first code.
	Secret string
	QR     template.HTML
	// BackupCodes are shown once, right after they are made.
	BackupCodes []string
	Devices     []trustedDeviceView
	// RecentAuthNeeded: the session is too old for sensitive actions.
	RecentAuthNeeded bool
	// SetupRequired, VerificationRequired: the organization's enforce_2fa
	// holds this session back.
	SetupRequired, VerificationRequired bool
}

// SecretGroups is the TOTP secret in groups of four characters, as
// authenticator apps accept it typed by hand (they ignore the spaces).
func (p *TwoFactorPage) SecretGroups() string {
	var b strings.Builder
	for i, r := range p.Secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// LoginTokenPage is what login_token.html shows: the second login step.
type LoginTokenPage struct {
	Layout
	Form
	Next string // where to go after signing in ("" for "/")
	// Remember keeps the "remember this browser" box ticked after a
	// wrong code.
	Remember bool
}

// invalidCodeText is what every page says about a wrong authentication
// code (the domain's 2fa_invalid detail).
const invalidCodeText = "Invalid authentication code"

// EmailMFAPage is what email_mfa.html shows: where the emailed sign-in
// link lands.
type EmailMFAPage struct {
	Layout
	Email string
	Token string // "" when the link is broken (no form then)
}

// EmailMFASentPage is what email_mfa_sent.html shows: "check your email".
type EmailMFASentPage struct {
	Layout
	Email string
}

func (*TwoFactorPage) template() string    { return "twofactor" }
func (*LoginTokenPage) template() string   { return "login_token" }
func (*EmailMFAPage) template() string     { return "email_mfa" }
func (*EmailMFASentPage) template() string { return "email_mfa_sent" }

// trustedDeviceView is one remembered browser in the list.
type trustedDeviceView struct {
	ID, Device, IP, LastUsed, Expires string
	Current                           bool
}

// twoFactorNow is the two-factor service's clock.
func twoFactorNow(tf *gatehouse.TwoFactorService) time.Time {
	if tf != nil && tf.Now != nil {
		return tf.Now()
	}
	return time.Now()
}

// QRSVG draws text as a QR code in SVG, with the standard four-module
// quiet zone. It is drawn here, from the otpauth URI, so the secret never
// goes to a third-party QR service.
func QRSVG(text string) (template.HTML, error) {
	code, err := qr.Encode(text, qr.M)
	if err != nil {
		return "", err
	}
	const quiet = 4
	n := code.Size + 2*quiet
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="220" height="220" shape-rendering="crispEdges" role="img" aria-label="QR code for your authenticator app">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y := 0; y < code.Size; y++ {
		for x := 0; x < code.Size; x++ {
			if code.Black(x, y) {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x+quiet, y+quiet)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	// Only numbers and fixed markup: safe to put in the page as is.
	return template.HTML(b.String()), nil
}

// setupView fills the set-up part of the page from a base32 secret: the
// secret to type in and the QR code of its otpauth URI.
func setupView(u *gatehouse.User, secret string, v *TwoFactorPage) error {
	raw, err := mfa.DecodeSecret(secret)
	if err != nil || len(raw) == 0 {
		return errors.New("not a TOTP secret")
	}
	svg, err := QRSVG(mfa.URI(raw, gatehouse.TOTPIssuer, u.Email))
	if err != nil {
		return err
	}
	v.Secret, v.QR = mfa.EncodeSecret(raw), svg
	return nil
}

// pageUser is the signed-in user of a page request, or nil (API-key
// requests have no session and do not use the pages).
func pageUser(r *http.Request) *httpauth.Caller {
	if a := httpauth.CallerFrom(r.Context()); a != nil && a.Session != nil {
		return a
	}
	return nil
}

// TwoFactorPages serves the two-factor pages: /settings/two_factor, the
// second login step and email MFA's pages.
type TwoFactorPages struct {
	Auth *httpauth.Auth // CSRF tokens, cookies, finishing the login, emails
	// TwoFactor is nil when two-factor authentication is unavailable.
	TwoFactor *gatehouse.TwoFactorService
}

var twoFactorDone = map[string]string{
	"disabled":       "Two-factor authentication was turned off. Your backup codes and trusted devices were removed.",
	"forget_device":  "That browser is no longer trusted: it will be asked for a code at its next sign-in.",
	"forget_devices": "No browser is trusted any more: each will be asked for a code at its next sign-in.",
}

// Page shows /settings/two_factor.
func (h *TwoFactorPages) Page(w http.ResponseWriter, r *http.Request) error {
	a := pageUser(r)
	if a == nil {
		http.Redirect(w, r, "/login?next="+httpauth.TwoFactorSetupPage, http.StatusFound)
		return nil
	}
	h.render(w, r, a, http.StatusOK, &TwoFactorPage{Layout: Layout{Notice: twoFactorDone[r.URL.Query().Get("done")]}})
	return nil
}

// render draws /settings/two_factor in its current state, with whatever
// data already holds (a set-up, new backup codes, an error).
func (h *TwoFactorPages) render(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, status int, data *TwoFactorPage) {
	ctx := r.Context()
	data.CSRFToken = sessionCSRFToken(w, r, h.Auth, a)
	data.Email = a.User.Email
	fail := func(err error) {
		var msg string
		status, _, msg = pageError(w, r, err)
		if data.Error == "" {
			data.Error = msg
		}
	}
	if h.TwoFactor == nil {
		fail(gatehouse.Invalid("2fa_not_available", "", "Two-factor authentication is not available on this instance."))
		renderPage(w, r, status, data)
		return
	}
	data.EmailMFA = h.TwoFactor.EmailMFA
	data.RecentAuthNeeded = gatehouse.RequireRecentAuth(a.Session, twoFactorNow(h.TwoFactor)) != nil
	if st, err := h.TwoFactor.Status(ctx, a.User); err != nil {
		fail(err)
	} else {
		data.Enabled, data.BackupCodesRemaining = st.HasTOTP, st.BackupCodesRemaining
	}
	if err := h.TwoFactor.CheckEnforcement(ctx, a.User, gatehouse.HashSessionKey(a.SessionKey)); err != nil {
		switch e, _ := gatehouse.AsError(err); {
		case e != nil && e.Code == "two_factor_setup_required":
			data.SetupRequired = true
		case e != nil && e.Code == "two_factor_verification_required":
			data.VerificationRequired = true
		default:
			fail(err)
		}
	}
	devices, err := h.TwoFactor.TrustedDevices(ctx, a.User)
	if err != nil {
		fail(err)
	}
	current := map[string]bool{}
	for _, c := range httpauth.RememberCookies(r) {
		current[c.ID] = true
	}
	const day = "2006-01-02"
	for _, dev := range devices {
		data.Devices = append(data.Devices, trustedDeviceView{ID: dev.ID, Device: httpauth.ShortUserAgent(dev.UserAgent), IP: dev.ClientIP,
			LastUsed: dev.LastUsedAt.UTC().Format(day), Expires: dev.ExpiresAt.UTC().Format(day),
			Current: current[dev.ID]})
	}
	renderPage(w, r, status, data)
}

// Setup starts a TOTP set-up: the page shows the secret and its QR code.
func (h *TwoFactorPages) Setup(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "setup")
}

// Confirm turns TOTP on with the set-up's first code and shows the backup
// codes.
func (h *TwoFactorPages) Confirm(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "confirm")
}

// BackupCodes makes new backup codes and shows them.
func (h *TwoFactorPages) BackupCodes(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "backup_codes")
}

// Disable turns two-factor authentication off.
func (h *TwoFactorPages) Disable(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "disable")
}

// ForgetDevice stops trusting one browser.
func (h *TwoFactorPages) ForgetDevice(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "forget_device")
}

// ForgetDevices stops trusting every browser.
func (h *TwoFactorPages) ForgetDevices(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "forget_devices")
}

// form applies one of the /settings/two_factor forms. The session check
// (Auth.Session) has already verified the CSRF token.
func (h *TwoFactorPages) form(w http.ResponseWriter, r *http.Request, form string) error {
	a := pageUser(r)
	if a == nil {
		http.Redirect(w, r, "/login?next="+httpauth.TwoFactorSetupPage, http.StatusSeeOther)
		return nil
	}
	if err := httpauth.ParseFormBody(w, r); err != nil {
		return errFormUnreadable
	}
	if h.TwoFactor == nil {
		h.render(w, r, a, http.StatusOK, &TwoFactorPage{})
		return nil
	}
	ctx := r.Context()
	data := &TwoFactorPage{}
	fail := func(err error, fields ...string) error {
		return onPage(err, data, fields...).drawnBy(func(status int) { h.render(w, r, a, status, data) })
	}
	switch form {
	case "setup":
		// Checked before a secret is shown: scanning it would be in
		// vain if the confirmation were then refused.
		if err := gatehouse.RequireRecentAuth(a.Session, twoFactorNow(h.TwoFactor)); err != nil {
			return fail(err)
		}
		setup, err := h.TwoFactor.StartSetup(ctx, a.User)
		if err != nil {
			return fail(err)
		}
		if err := setupView(a.User, setup.Secret.Reveal(), data); err != nil {
			return fail(err)
		}
		h.render(w, r, a, http.StatusOK, data)
	case "confirm":
		codes, err := h.TwoFactor.ValidateSetup(ctx, a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey), r.PostForm.Get("token"))
		if err != nil {
			if e, ok := gatehouse.AsError(err); ok && (e.Code == "token_invalid" || e.Code == "required") {
				// The set-up still waits: show the same secret again.
				// It is only ever drawn for the user who posted it.
				setupView(a.User, r.PostForm.Get("secret"), data)
			}
			if e, ok := gatehouse.AsError(err); ok && e.Code == "token_invalid" {
				// The API keeps PostHog's "Token is not valid"; the pages
				// say what the second login step says.
				err = gatehouse.Invalid("token_invalid", "token", invalidCodeText)
			}
			return fail(err, "token")
		}
		httpauth.NoteTwoFactorEnabled(r, *h.Auth, a.User)
		data.BackupCodes = codes
		data.Notice = "Two-factor authentication is on. Save your backup codes now: they are shown only once."
		h.render(w, r, a, http.StatusOK, data)
	case "backup_codes":
		codes, err := h.TwoFactor.RegenerateBackupCodes(ctx, a.User, a.Session)
		if err != nil {
			return fail(err)
		}
		data.BackupCodes = codes
		data.Notice = "New backup codes were made and the old ones no longer work. Save these now: they are shown only once."
		h.render(w, r, a, http.StatusOK, data)
	case "disable":
		was, err := h.TwoFactor.Disable(ctx, a.User, a.Session)
		if err != nil {
			return fail(err)
		}
		if was {
			httpauth.NoteTwoFactorDisabled(r, *h.Auth, a.User)
		}
		for _, c := range httpauth.RememberCookies(r) {
			h.Auth.Cookies.Clear(w, httpauth.RememberCookiePrefix+c.ID, httpauth.RememberCookieOptions())
		}
		http.Redirect(w, r, httpauth.TwoFactorSetupPage+"?done=disabled", http.StatusSeeOther)
	case "forget_device":
		id := r.PathValue("id")
		if err := h.TwoFactor.ForgetDevice(ctx, a.User, id); err != nil {
			return fail(err)
		}
		for _, c := range httpauth.RememberCookies(r) {
			if c.ID == id {
				h.Auth.Cookies.Clear(w, httpauth.RememberCookiePrefix+c.ID, httpauth.RememberCookieOptions())
			}
		}
		http.Redirect(w, r, httpauth.TwoFactorSetupPage+"?done=forget_device", http.StatusSeeOther)
	case "forget_devices":
		if _, err := h.TwoFactor.ForgetDevices(ctx, a.User); err != nil {
			return fail(err)
		}
		for _, c := range httpauth.RememberCookies(r) {
			h.Auth.Cookies.Clear(w, httpauth.RememberCookiePrefix+c.ID, httpauth.RememberCookieOptions())
		}
		http.Redirect(w, r, httpauth.TwoFactorSetupPage+"?done=forget_devices", http.StatusSeeOther)
	}
	return nil
}

// --- the login steps ---

// secondStepPage answers a login form post whose password step asked for
// a second factor: to the code page for TOTP, to "check your email" for
// email MFA. It reports whether err was such an answer.
func secondStepPage(w http.ResponseWriter, r *http.Request, auth *httpauth.Auth, err error, next string) bool {
	var p *gatehouse.PendingLoginError
	if !errors.As(err, &p) {
		return false
	}
	// httpauth.PasswordLogin has set the pending-login cookie.
	if p.Method == gatehouse.PendingEmail {
		renderPage(w, r, http.StatusOK, &EmailMFASentPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, auth)}, Email: p.User.Email})
		return true
	}
	target := "/login/token"
	if next != "/" {
		target += "?" + url.Values{"next": {next}}.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return true
}

// loginAgain sends the browser back to the login form with a notice (a
// code of loginNotices), keeping where it was going.
func loginAgain(w http.ResponseWriter, r *http.Request, notice, next string) {
	q := url.Values{"message": {notice}}
	if next != "/" {
		q.Set("next", next)
	}
	http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
}

// LoginToken shows the second login step's code form.
func (h *TwoFactorPages) LoginToken(w http.ResponseWriter, r *http.Request) error {
	next := safeNext(r.URL.Query().Get("next"))
	if httpauth.PendingKey(r) == "" {
		loginAgain(w, r, "login_first", next)
		return nil
	}
	data := &LoginTokenPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}}
	if next != "/" {
		data.Next = next
	}
	renderPage(w, r, http.StatusOK, data)
	return nil
}

// LoginTokenForm is the second step of a page login: a TOTP or backup
// code for the login pending in this browser. On success the browser is
// remembered for 30 days only when the person ticked the box.
func (h *TwoFactorPages) LoginTokenForm(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	next := safeNext(r.PostForm.Get("next"))
	if h.TwoFactor == nil {
		loginAgain(w, r, "login_again", next)
		return nil
	}
	remember := r.PostForm.Get("remember") == "on"
	step, err := h.TwoFactor.CompleteLogin(r.Context(), httpauth.PendingKey(r), r.PostForm.Get("token"))
	if err == nil {
		_, err = httpauth.StartSession(w, r, *h.Auth, step.User, httpauth.LoginStep{Method: "password", SecondStep: true, DontRemember: !remember})
	}
	if err != nil {
		httpauth.NoteCodeFailures(r, *h.Auth, err)
		if e, ok := gatehouse.AsError(err); ok && httpauth.PendingLoginOver(err) {
			h.Auth.Cookies.Clear(w, httpauth.PendingLoginCookie, cookies.Options{})
			notice := "2fa_expired"
			if e.Code == "not_authenticated" {
				notice = "login_first"
			}
			loginAgain(w, r, notice, next)
			return nil
		}
		data := &LoginTokenPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}, Remember: remember}
		if next != "/" {
			data.Next = next
		}
		return onPage(err, data, "token").drawnBy(func(status int) {
			if e, ok := gatehouse.AsError(err); ok && e.Code == "2fa_invalid" {
				data.Error, data.Errors = "", map[string]string{"token": e.Detail}
			}
			renderPage(w, r, status, data)
		})
	}
	if step.BackupCodeUsed {
		httpauth.NoteBackupCodeUsed(r, *h.Auth, step.User)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// EmailMFA is where the emailed sign-in link lands. It asks for a click
// rather than signing in on GET, so mail scanners that fetch links do not
// spend the token.
func (h *TwoFactorPages) EmailMFA(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	data := &EmailMFAPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}, Email: q.Get("email"), Token: q.Get("token")}
	status := http.StatusOK
	// The page shows the email: only an address, never free text.
	if _, err := gatehouse.NormalizeEmail(data.Email); err != nil || data.Token == "" {
		status = http.StatusBadRequest
		data.Error, data.Email, data.Token = emailMFALinkBroken, "", ""
	}
	renderPage(w, r, status, data)
	return nil
}

const emailMFALinkBroken = "This sign-in link is invalid or has expired. Sign in again to get a new one."

// EmailMFAForm completes an email-MFA login from the landing page. It
// works in any browser: the link is the proof, not the pending cookie.
func (h *TwoFactorPages) EmailMFAForm(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	var (
		u   *gatehouse.User
		err error
	)
	if h.TwoFactor == nil {
		err = gatehouse.Invalid("invalid_token", "", emailMFALinkBroken)
	} else if u, err = h.TwoFactor.CompleteEmailLogin(r.Context(), r.PostForm.Get("email"), r.PostForm.Get("token")); err == nil {
		_, err = httpauth.StartSession(w, r, *h.Auth, u, httpauth.LoginStep{Method: "password", SecondStep: true})
	}
	if err != nil {
		return onPage(err, &EmailMFAPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}})
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

// EmailMFAResend mails a new link for the email-MFA login pending in this
// browser (5 links an hour).
func (h *TwoFactorPages) EmailMFAResend(w http.ResponseWriter, r *http.Request) error {
	if err := checkForm(w, r, h.Auth); err != nil {
		return err
	}
	data := &EmailMFASentPage{Layout: Layout{CSRFToken: pageCSRFToken(w, r, h.Auth)}}
	var (
		u     *gatehouse.User
		token gatehouse.Secret
		err   = error(gatehouse.Invalid("no_pending_verification", "", "No pending email MFA verification found"))
	)
	if h.TwoFactor != nil {
		u, token, err = h.TwoFactor.ResendEmailLogin(r.Context(), httpauth.PendingKey(r))
	}
	if err != nil {
		e, _ := gatehouse.AsError(err)
		if e != nil && (e.Code == "no_pending_verification" || e.Code == "2fa_expired") {
			h.Auth.Cookies.Clear(w, httpauth.PendingLoginCookie, cookies.Options{})
			loginAgain(w, r, "email_mfa_expired", "/")
			return nil
		}
		return onPage(err, data)
	}
	httpauth.QueueMail(r, *h.Auth, httpauth.EmailMFAMail(*h.Auth, u, token))
	data.Email = u.Email
	data.Notice = "We sent a new link. It works for 15 minutes."
	renderPage(w, r, http.StatusOK, data)
	return nil
}
