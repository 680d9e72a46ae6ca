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

// twoFactorView is what the two-factor pages show beyond pageData.
type twoFactorView struct {
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
	// Pages of the login steps.
	Token, EmailToken string
}

// trustedDeviceView is one remembered browser in the list.
type trustedDeviceView struct {
	ID, Device, IP, LastUsed, Expires string
	Current                           bool
}

// twoFactorNow is the two-factor service's clock.
func twoFactorNow(d httpauth.Auth) time.Time {
	if d.TwoFactor != nil && d.TwoFactor.Now != nil {
		return d.TwoFactor.Now()
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
func setupView(u *gatehouse.User, secret string, v *twoFactorView) error {
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

var twoFactorDone = map[string]string{
	"disabled":       "Two-factor authentication was turned off. Your backup codes and trusted devices were removed.",
	"forget_device":  "That browser is no longer trusted: it will be asked for a code at its next sign-in.",
	"forget_devices": "No browser is trusted any more: each will be asked for a code at its next sign-in.",
}

func HandleTwoFactorPage(d httpauth.Auth) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := pageUser(r)
		if a == nil {
			http.Redirect(w, r, "/login?next="+httpauth.TwoFactorSetupPage, http.StatusFound)
			return
		}
		renderTwoFactor(w, r, d, a, http.StatusOK, pageData{Notice: twoFactorDone[r.URL.Query().Get("done")]})
	}))
}

// renderTwoFactor draws /settings/two_factor in its current state, with
// whatever data already holds (a set-up, new backup codes, an error).
func renderTwoFactor(w http.ResponseWriter, r *http.Request, d httpauth.Auth, a *httpauth.Caller, status int, data pageData) {
	ctx := r.Context()
	data.CSRFToken = httpauth.EnsureCSRFCookie(w, r, d, a.SessionKey, time.Until(a.Session.ExpiresAt).Round(time.Second))
	data.Email = a.User.Email
	if data.TwoFactor == nil {
		data.TwoFactor = &twoFactorView{}
	}
	v := data.TwoFactor
	fail := func(err error) {
		var msg string
		status, _, msg = pageError(w, r, err)
		if data.Error == "" {
			data.Error = msg
		}
	}
	if d.TwoFactor == nil {
		fail(gatehouse.Invalid("2fa_not_available", "", "Two-factor authentication is not available on this instance."))
		renderPage(w, r, status, "twofactor", data)
		return
	}
	v.EmailMFA = d.TwoFactor.EmailMFA
	v.RecentAuthNeeded = gatehouse.RequireRecentAuth(a.Session, twoFactorNow(d)) != nil
	if st, err := d.TwoFactor.Status(ctx, a.User); err != nil {
		fail(err)
	} else {
		v.Enabled, v.BackupCodesRemaining = st.HasTOTP, st.BackupCodesRemaining
	}
	if err := d.TwoFactor.CheckEnforcement(ctx, a.User, gatehouse.HashSessionKey(a.SessionKey)); err != nil {
		switch e, _ := gatehouse.AsError(err); {
		case e != nil && e.Code == "two_factor_setup_required":
			v.SetupRequired = true
		case e != nil && e.Code == "two_factor_verification_required":
			v.VerificationRequired = true
		default:
			fail(err)
		}
	}
	devices, err := d.TwoFactor.TrustedDevices(ctx, a.User)
	if err != nil {
		fail(err)
	}
	current := map[string]bool{}
	for _, c := range httpauth.RememberCookies(r) {
		current[c.ID] = true
	}
	const day = "2006-01-02"
	for _, dev := range devices {
		v.Devices = append(v.Devices, trustedDeviceView{ID: dev.ID, Device: httpauth.ShortUserAgent(dev.UserAgent), IP: dev.ClientIP,
			LastUsed: dev.LastUsedAt.UTC().Format(day), Expires: dev.ExpiresAt.UTC().Format(day),
			Current: current[dev.ID]})
	}
	renderPage(w, r, status, "twofactor", data)
}

// handleTwoFactorForm applies one of the /settings/two_factor forms. The
// session check (withSession) has already verified the CSRF token.
func HandleTwoFactorForm(d httpauth.Auth, form string) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := pageUser(r)
		if a == nil {
			http.Redirect(w, r, "/login?next="+httpauth.TwoFactorSetupPage, http.StatusSeeOther)
			return
		}
		if err := httpauth.ParseFormBody(w, r); err != nil {
			httpauth.WriteText(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
		if d.TwoFactor == nil {
			renderTwoFactor(w, r, d, a, http.StatusOK, pageData{})
			return
		}
		ctx := r.Context()
		data := pageData{TwoFactor: &twoFactorView{}}
		fail := func(err error, fields ...string) {
			status := showError(w, r, d, &data, fields, err)
			renderTwoFactor(w, r, d, a, status, data)
		}
		switch form {
		case "setup":
			// Checked before a secret is shown: scanning it would be in
			// vain if the confirmation were then refused.
			if err := gatehouse.RequireRecentAuth(a.Session, twoFactorNow(d)); err != nil {
				fail(err)
				return
			}
			setup, err := d.TwoFactor.StartSetup(ctx, a.User)
			if err != nil {
				fail(err)
				return
			}
			if err := setupView(a.User, setup.Secret.Reveal(), data.TwoFactor); err != nil {
				fail(err)
				return
			}
			renderTwoFactor(w, r, d, a, http.StatusOK, data)
		case "confirm":
			codes, err := d.TwoFactor.ValidateSetup(ctx, a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey), r.PostForm.Get("token"))
			if err != nil {
				if e, ok := gatehouse.AsError(err); ok && (e.Code == "token_invalid" || e.Code == "required") {
					// The set-up still waits: show the same secret again.
					// It is only ever drawn for the user who posted it.
					setupView(a.User, r.PostForm.Get("secret"), data.TwoFactor)
				}
				fail(err, "token")
				return
			}
			httpauth.NoteTwoFactorEnabled(r, d, a.User)
			data.TwoFactor.BackupCodes = codes
			data.Notice = "Two-factor authentication is on. Save your backup codes now: they are shown only once."
			renderTwoFactor(w, r, d, a, http.StatusOK, data)
		case "backup_codes":
			codes, err := d.TwoFactor.RegenerateBackupCodes(ctx, a.User, a.Session)
			if err != nil {
				fail(err)
				return
			}
			data.TwoFactor.BackupCodes = codes
			data.Notice = "New backup codes were made and the old ones no longer work. Save these now: they are shown only once."
			renderTwoFactor(w, r, d, a, http.StatusOK, data)
		case "disable":
			was, err := d.TwoFactor.Disable(ctx, a.User, a.Session)
			if err != nil {
				fail(err)
				return
			}
			if was {
				httpauth.NoteTwoFactorDisabled(r, d, a.User)
			}
			for _, c := range httpauth.RememberCookies(r) {
				d.Cookies.Clear(w, httpauth.RememberCookiePrefix+c.ID, httpauth.RememberCookieOptions())
			}
			http.Redirect(w, r, httpauth.TwoFactorSetupPage+"?done=disabled", http.StatusSeeOther)
		case "forget_device":
			id := r.PathValue("id")
			if err := d.TwoFactor.ForgetDevice(ctx, a.User, id); err != nil {
				fail(err)
				return
			}
			for _, c := range httpauth.RememberCookies(r) {
				if c.ID == id {
					d.Cookies.Clear(w, httpauth.RememberCookiePrefix+c.ID, httpauth.RememberCookieOptions())
				}
			}
			http.Redirect(w, r, httpauth.TwoFactorSetupPage+"?done=forget_device", http.StatusSeeOther)
		case "forget_devices":
			if _, err := d.TwoFactor.ForgetDevices(ctx, a.User); err != nil {
				fail(err)
				return
			}
			for _, c := range httpauth.RememberCookies(r) {
				d.Cookies.Clear(w, httpauth.RememberCookiePrefix+c.ID, httpauth.RememberCookieOptions())
			}
			http.Redirect(w, r, httpauth.TwoFactorSetupPage+"?done=forget_devices", http.StatusSeeOther)
		}
	}))
}

// --- the login steps ---

// secondStepPage answers a login form post whose password step asked for
// a second factor: to the code page for TOTP, to "check your email" for
// email MFA. It reports whether err was such an answer.
func secondStepPage(w http.ResponseWriter, r *http.Request, d httpauth.Auth, err error, next string) bool {
	var p *gatehouse.PendingLoginError
	if !errors.As(err, &p) {
		return false
	}
	httpauth.SecondStepDue(w, r, d, err)
	if p.Method == gatehouse.PendingEmail {
		renderPage(w, r, http.StatusOK, "email_mfa_sent", pageData{CSRFToken: pageCSRFToken(w, r, d), Email: p.User.Email})
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

func HandleLoginTokenPage(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := safeNext(r.URL.Query().Get("next"))
		if httpauth.PendingKey(r) == "" {
			loginAgain(w, r, "login_first", next)
			return
		}
		data := pageData{CSRFToken: pageCSRFToken(w, r, d)}
		if next != "/" {
			data.Next = next
		}
		renderPage(w, r, http.StatusOK, "login_token", data)
	})
}

// handleLoginTokenForm is the second step of a page login: a TOTP or
// backup code for the login pending in this browser. On success the
// browser is remembered for 30 days, as the API does.
func HandleLoginTokenForm(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !requireFormCSRF(w, r, d) {
			return
		}
		next := safeNext(r.PostForm.Get("next"))
		if d.TwoFactor == nil {
			loginAgain(w, r, "login_again", next)
			return
		}
		step, err := d.TwoFactor.CompleteLogin(r.Context(), httpauth.PendingKey(r), r.PostForm.Get("token"))
		if err == nil {
			err = httpauth.FinishLogin(w, r, d, step.User, "password")
		}
		if err != nil {
			httpauth.NoteCodeFailures(r, d, err)
			if e, ok := gatehouse.AsError(err); ok && httpauth.PendingLoginOver(err) {
				d.Cookies.Clear(w, httpauth.PendingLoginCookie, cookies.Options{})
				notice := "2fa_expired"
				if e.Code == "not_authenticated" {
					notice = "login_first"
				}
				loginAgain(w, r, notice, next)
				return
			}
			data := pageData{CSRFToken: pageCSRFToken(w, r, d)}
			if next != "/" {
				data.Next = next
			}
			status := showError(w, r, d, &data, []string{"token"}, err)
			if e, ok := gatehouse.AsError(err); ok && e.Code == "2fa_invalid" {
				data.Error, data.Errors = "", map[string]string{"token": e.Detail}
			}
			renderPage(w, r, status, "login_token", data)
			return
		}
		if step.BackupCodeUsed {
			httpauth.NoteBackupCodeUsed(r, d, step.User)
		}
		http.Redirect(w, r, next, http.StatusSeeOther)
	})
}

// handleEmailMFAPage is where the emailed sign-in link lands. It asks for
// a click rather than signing in on GET, so mail scanners that fetch links
// do not spend the token.
func HandleEmailMFAPage(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		data := pageData{CSRFToken: pageCSRFToken(w, r, d), Email: q.Get("email"), TwoFactor: &twoFactorView{EmailToken: q.Get("token")}}
		status := http.StatusOK
		// The page shows the email: only an address, never free text.
		if _, err := gatehouse.NormalizeEmail(data.Email); err != nil || data.TwoFactor.EmailToken == "" {
			status = http.StatusBadRequest
			data.Error, data.Email, data.TwoFactor.EmailToken = emailMFALinkBroken, "", ""
		}
		renderPage(w, r, status, "email_mfa", data)
	})
}

const emailMFALinkBroken = "This sign-in link is invalid or has expired. Sign in again to get a new one."

// handleEmailMFAForm completes an email-MFA login from the landing page.
// It works in any browser: the link is the proof, not the pending cookie.
func HandleEmailMFAForm(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !requireFormCSRF(w, r, d) {
			return
		}
		var (
			u   *gatehouse.User
			err error
		)
		if d.TwoFactor == nil {
			err = gatehouse.Invalid("invalid_token", "", emailMFALinkBroken)
		} else if u, err = d.TwoFactor.CompleteEmailLogin(r.Context(), r.PostForm.Get("email"), r.PostForm.Get("token")); err == nil {
			err = httpauth.FinishLogin(w, r, d, u, "password")
		}
		if err != nil {
			data := pageData{CSRFToken: pageCSRFToken(w, r, d)}
			status, _, msg := pageError(w, r, err)
			data.Error = msg
			renderPage(w, r, status, "email_mfa", data)
			return
		}
		http.Redirect(w, r, "/", http.StatusSeeOther)
	})
}

// handleEmailMFAResendForm mails a new link for the email-MFA login
// pending in this browser (5 links an hour).
func HandleEmailMFAResendForm(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !requireFormCSRF(w, r, d) {
			return
		}
		data := pageData{CSRFToken: pageCSRFToken(w, r, d)}
		var (
			u     *gatehouse.User
			token gatehouse.Secret
			err   = error(gatehouse.Invalid("no_pending_verification", "", "No pending email MFA verification found"))
		)
		if d.TwoFactor != nil {
			u, token, err = d.TwoFactor.ResendEmailLogin(r.Context(), httpauth.PendingKey(r))
		}
		if err != nil {
			e, _ := gatehouse.AsError(err)
			if e != nil && (e.Code == "no_pending_verification" || e.Code == "2fa_expired") {
				d.Cookies.Clear(w, httpauth.PendingLoginCookie, cookies.Options{})
				loginAgain(w, r, "email_mfa_expired", "/")
				return
			}
			status, _, msg := pageError(w, r, err)
			data.Error = msg
			renderPage(w, r, status, "email_mfa_sent", data)
			return
		}
		httpauth.QueueMail(r, d, httpauth.EmailMFAMail(d, u, token))
		data.Email = u.Email
		data.Notice = "We sent a new link. It works for 15 minutes."
		renderPage(w, r, http.StatusOK, "email_mfa_sent", data)
	})
}
