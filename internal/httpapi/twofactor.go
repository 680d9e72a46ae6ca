package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// Two-factor cookies.
const (
	// pendingLoginCookie carries the key of a login waiting for its second
	// step (the password step never creates a signed-in session).
	pendingLoginCookie = "gatehouse_2fa_pending"
	// rememberCookiePrefix + device id names a remembered browser's cookie.
	rememberCookiePrefix = "remember_device_"
	// twoFactorSetupPage is where web pages send users an organization
	// requires to set up or verify 2FA.
	twoFactorSetupPage = "/settings/two_factor"
)

// addTwoFactorRoutes registers TOTP management, the second login step,
// email MFA, trusted devices and the admin reset.
func addTwoFactorRoutes(mux *http.ServeMux, d Deps) {
	for _, p := range []string{"two_factor_start_setup", "start_2fa_setup"} {
		mux.Handle("GET /api/users/@me/"+p, handleTwoFactorStartSetup(d))
	}
	for _, p := range []string{"two_factor_validate", "validate_2fa"} {
		mux.Handle("POST /api/users/@me/"+p, handleTwoFactorValidate(d))
	}
	mux.Handle("GET /api/users/@me/two_factor_status", handleTwoFactorStatus(d))
	mux.Handle("POST /api/users/@me/two_factor_backup_codes", handleTwoFactorBackupCodes(d))
	mux.Handle("POST /api/users/@me/two_factor_disable", handleTwoFactorDisable(d))
	mux.Handle("GET /api/users/@me/trusted_devices", handleTrustedDevices(d))
	mux.Handle("DELETE /api/users/@me/trusted_devices", handleForgetDevices(d))
	mux.Handle("DELETE /api/users/@me/trusted_devices/{id}", handleForgetDevice(d))
	mux.Handle("POST /api/users/{uuid}/two_factor_reset", handleTwoFactorReset(d))

	mux.Handle("POST /api/login/token", signInEndpoint(d, handleLoginToken(d)))
	mux.Handle("POST /api/login/email-mfa", signInEndpoint(d, handleEmailMFA(d)))
	mux.Handle("POST /api/login/email-mfa/resend", handleEmailMFAResend(d))
}

func handleTwoFactorStartSetup(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		setup, err := d.TwoFactor.StartSetup(r.Context(), a.user)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "secret": setup.Secret.Reveal(), "otpauth_uri": setup.URI.Reveal()})
	})
}

func handleTwoFactorValidate(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		var in struct {
			Token string `json:"token"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		codes, err := d.TwoFactor.ValidateSetup(r.Context(), a.user, a.session, gatehouse.HashSessionKey(a.sessionKey), in.Token)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		noteTwoFactorEnabled(r, d, a.user)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "backup_codes": codes})
	})
}

func handleTwoFactorStatus(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		st, err := d.TwoFactor.Status(r.Context(), a.user)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		var method any
		if st.HasTOTP {
			method = "TOTP"
		} else if st.PasskeyFactor() {
			method = "passkey"
		}
		writeJSON(w, http.StatusOK, map[string]any{"is_enabled": st.HasTOTP || st.PasskeyFactor(), "method": method, "has_totp": st.HasTOTP,
			"has_passkeys": st.HasPasskeys, "passkeys_enabled_for_2fa": st.PasskeysEnabledFor2FA,
			// The codes are shown once, when made; only their number is
			// ever reported again.
			"backup_codes": []string{}, "backup_codes_remaining": st.BackupCodesRemaining})
	})
}

func handleTwoFactorBackupCodes(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		codes, err := d.TwoFactor.RegenerateBackupCodes(r.Context(), a.user, a.session)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]any{"backup_codes": codes})
	})
}

func handleTwoFactorDisable(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		was, err := d.TwoFactor.Disable(r.Context(), a.user, a.session)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if was {
			noteTwoFactorDisabled(r, d, a.user)
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

func handleTwoFactorReset(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		target, err := d.TwoFactor.AdminReset(r.Context(), a.user, a.session, r.PathValue("uuid"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "2fa reset by admin", slog.String("user", target.UUID), slog.String("admin", a.user.UUID),
			slog.String("client", clientIP(r)))
		queueMail(r, d, mail.TwoFactorResetNotice(target.Email, a.user.Email))
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

// noteTwoFactorEnabled logs TOTP being turned on and mails the user (the
// API and the settings page).
func noteTwoFactorEnabled(r *http.Request, d Deps, u *gatehouse.User) {
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "2fa enabled", slog.String("user", u.UUID), slog.String("client", clientIP(r)))
	queueMail(r, d, mail.TwoFactorEnabledNotice(u.Email))
}

// noteTwoFactorDisabled logs TOTP being turned off and mails the user.
func noteTwoFactorDisabled(r *http.Request, d Deps, u *gatehouse.User) {
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "2fa disabled", slog.String("user", u.UUID), slog.String("client", clientIP(r)))
	queueMail(r, d, mail.TwoFactorDisabledNotice(u.Email))
}

// noteBackupCodeUsed logs a sign-in with a backup code and mails the user.
func noteBackupCodeUsed(r *http.Request, d Deps, u *gatehouse.User) {
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "backup code used", slog.String("user", u.UUID), slog.String("client", clientIP(r)))
	queueMail(r, d, mail.BackupCodeUsedNotice(u.Email, clientIP(r)))
}

// pendingLoginOver reports whether err ended the pending login (or found
// none), so its cookie is useless.
func pendingLoginOver(err error) bool {
	e, ok := gatehouse.AsError(err)
	return ok && (e.Code == "2fa_expired" || e.Code == "not_authenticated" || errors.Is(err, gatehouse.ErrPendingLoginEnded))
}

// noteCodeFailures mails the owner when a wrong second-step code was one
// of repeated ones: their password is known to whoever typed them.
func noteCodeFailures(r *http.Request, d Deps, err error) {
	var f *gatehouse.CodeFailuresError
	if !errors.As(err, &f) {
		return
	}
	d.Logger.LogAttrs(r.Context(), slog.LevelWarn, "repeated wrong 2fa codes", slog.String("user", f.User.UUID),
		slog.Int64("count", f.Count), slog.String("client", clientIP(r)))
	queueMail(r, d, mail.TwoFactorFailuresNotice(f.User.Email, f.Count, clientIP(r)))
}

// --- trusted devices ---

// rememberCookies are the remember_device_<id> cookies of a request.
func rememberCookies(r *http.Request) []gatehouse.RememberCookie {
	var out []gatehouse.RememberCookie
	for _, c := range r.Cookies() {
		if id, ok := strings.CutPrefix(c.Name, rememberCookiePrefix); ok && id != "" && c.Value != "" {
			out = append(out, gatehouse.RememberCookie{ID: id, Token: gatehouse.Secret(c.Value)})
		}
	}
	return out
}

func rememberCookieOptions() cookies.Options {
	return cookies.Options{MaxAge: gatehouse.RememberDeviceTTL, SameSite: http.SameSiteStrictMode}
}

func handleTrustedDevices(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		list, err := d.TwoFactor.TrustedDevices(r.Context(), a.user)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		current := map[string]bool{}
		for _, c := range rememberCookies(r) {
			current[c.ID] = true
		}
		out := make([]map[string]any, 0, len(list))
		for _, dev := range list {
			out = append(out, map[string]any{"id": dev.ID, "created_at": dev.CreatedAt.Format(time.RFC3339), "last_used_at": dev.LastUsedAt.Format(time.RFC3339),
				"expires_at": dev.ExpiresAt.Format(time.RFC3339), "ip": dev.ClientIP, "device": shortUserAgent(dev.UserAgent), "is_current": current[dev.ID]})
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func handleForgetDevices(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if _, err := d.TwoFactor.ForgetDevices(r.Context(), a.user); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		for _, c := range rememberCookies(r) {
			d.Cookies.Clear(w, rememberCookiePrefix+c.ID, rememberCookieOptions())
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleForgetDevice(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		id := r.PathValue("id")
		if err := d.TwoFactor.ForgetDevice(r.Context(), a.user, id); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		for _, c := range rememberCookies(r) {
			if c.ID == id {
				d.Cookies.Clear(w, rememberCookiePrefix+c.ID, rememberCookieOptions())
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// --- the second login step ---

// secondStepDue handles a login answered 2fa_required or
// email_mfa_required: the pending-login cookie is set and, for email MFA,
// the link is mailed. Other errors pass untouched.
func secondStepDue(w http.ResponseWriter, r *http.Request, d Deps, err error) {
	var p *gatehouse.PendingLoginError
	if !errors.As(err, &p) {
		return
	}
	ttl := gatehouse.TwoFactorLoginTTL
	if p.Method == gatehouse.PendingEmail {
		ttl = gatehouse.EmailMFATTL
		if p.EmailToken != "" {
			queueMail(r, d, emailMFAMail(d, p.User, p.EmailToken))
		}
	}
	d.Cookies.Set(w, pendingLoginCookie, p.Key.Reveal(), cookies.Options{MaxAge: ttl})
}

// emailMFAMail carries the sign-in link of email MFA.
func emailMFAMail(d Deps, u *gatehouse.User, token gatehouse.Secret) mail.Message {
	link := "/login/email-mfa?" + url.Values{"email": {u.Email}, "token": {token.Reveal()}}.Encode()
	if d.SiteURL != nil {
		link = strings.TrimRight(d.SiteURL.String(), "/") + link
	}
	return mail.EmailMFANotice(u.Email, link)
}

func pendingKey(r *http.Request) string {
	if c, err := r.Cookie(pendingLoginCookie); err == nil {
		return c.Value
	}
	return ""
}

// finishLogin starts the session of a user who passed the second step,
// marks it 2FA-verified, remembers the browser and clears the pending
// login.
func finishLogin(w http.ResponseWriter, r *http.Request, d Deps, u *gatehouse.User, method string) error {
	ctx := r.Context()
	res, err := d.Auth.StartSession(ctx, u, gatehouse.LoginInput{ClientIP: clientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: previousSessionKey(r)}, method)
	if err != nil {
		return err
	}
	if err := d.TwoFactor.MarkSessionVerified(ctx, res); err != nil {
		return err
	}
	dev, token, err := d.TwoFactor.Remember(ctx, u, clientIP(r), r.UserAgent())
	if err != nil {
		return err
	}
	if err := d.TwoFactor.EndPendingLogin(ctx, pendingKey(r)); err != nil {
		return err
	}
	setSignedIn(w, r, d, res)
	d.Cookies.Set(w, rememberCookiePrefix+dev.ID, token.Reveal(), rememberCookieOptions())
	d.Cookies.Clear(w, pendingLoginCookie, cookies.Options{})
	d.Logger.LogAttrs(ctx, slog.LevelInfo, "login", slog.String("user", u.UUID), slog.String("method", method), slog.String("client", clientIP(r)))
	if res.NewDevice {
		queueMail(r, d, newDeviceMail(res.User, res.Session))
	}
	return nil
}

// handleLoginToken is the second step: a TOTP or backup code for the login
// pending in this browser.
func handleLoginToken(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Token string `json:"token"`
			// A passkey second step sends the assertion instead.
			CredentialID string          `json:"credential_id"`
			Response     json.RawMessage `json:"response"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		var step *gatehouse.SecondStep
		var err error
		if in.CredentialID != "" || len(in.Response) > 0 {
			step, err = d.TwoFactor.CompletePasskeyLogin(r.Context(), pendingKey(r), challengeKey(r), passkeyTokenBody(in.CredentialID, in.Response))
			clearChallengeCookie(w, d)
		} else {
			step, err = d.TwoFactor.CompleteLogin(r.Context(), pendingKey(r), in.Token)
		}
		if err == nil {
			err = finishLogin(w, r, d, step.User, "password")
		}
		if err != nil {
			noteCodeFailures(r, d, err)
			if pendingLoginOver(err) {
				d.Cookies.Clear(w, pendingLoginCookie, cookies.Options{})
			}
			writeError(w, r, d.Logger, err)
			return
		}
		if step.BackupCodeUsed {
			noteBackupCodeUsed(r, d, step.User)
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

func handleEmailMFA(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email string `json:"email"`
			Token string `json:"token"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		u, err := d.TwoFactor.CompleteEmailLogin(r.Context(), in.Email, in.Token)
		if err == nil {
			err = finishLogin(w, r, d, u, "password")
		}
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

func handleEmailMFAResend(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, token, err := d.TwoFactor.ResendEmailLogin(r.Context(), pendingKey(r))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		queueMail(r, d, emailMFAMail(d, u, token))
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "Verification email sent"})
	})
}

// --- organization enforcement ---

// twoFactorExempt are the paths an organization's 2FA requirement never
// blocks (PostHog's whitelist), without their trailing slash.
var twoFactorExempt = map[string]bool{
	"/api/users/@me/two_factor_start_setup": true, "/api/users/@me/two_factor_validate": true,
	"/api/users/@me/two_factor_status": true, "/api/users/@me/two_factor_backup_codes": true,
	"/api/users/@me/two_factor_disable": true, "/api/users/@me/start_2fa_setup": true, "/api/users/@me/validate_2fa": true,
	"/logout": true, "/api/logout": true, "/api/login": true, "/api/login/token": true, "/api/login/email-mfa": true,
	"/api/login/email-mfa/resend": true, "/api/users/@me": true, "/_health": true, twoFactorSetupPage: true,
}

var twoFactorExemptPrefixes = []string{"/static/", "/uploaded_media/", "/api/instance_status", "/api/signup", "/api/social_signup",
	"/login/google-oauth2", "/login/github", "/login/gitlab", "/login/saml", "/complete/google-oauth2", "/complete/github",
	"/complete/gitlab", "/complete/saml", "/api/saml/metadata", twoFactorSetupPage + "/",
	// Passkeys can be the second factor an organization requires.
	"/api/webauthn/", "/settings/passkeys", "/static/webauthn.js", "/api/login/2fa/passkey/"}

func twoFactorExemptPath(p string) bool {
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
	}
	if twoFactorExempt[p] {
		return true
	}
	for _, prefix := range twoFactorExemptPrefixes {
		if strings.HasPrefix(p+"/", prefix) || strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// twoFactorGate applies enforce_2fa to a session-authenticated request
// (API keys are never subject to it): the current organization's, and
// that of the organization the request works on, resolved from the URL as
// for keys (requestTarget: {org}, {project}, ?token=, @current). It
// answers the request itself and returns false when the request must stop:
// 403 two_factor_setup_required / two_factor_verification_required for the
// API, a redirect to the 2FA set-up page for web pages.
func twoFactorGate(w http.ResponseWriter, r *http.Request, d Deps, u *gatehouse.User, sess *gatehouse.Session, sessionKey string) bool {
	// docs/posthog-compat.md#two-factor-enforcement rules 1 and 2: whitelisted paths, and sessions an SSO backend
	// created (the identity provider vouched for the sign-in).
	if d.TwoFactor == nil || twoFactorExemptPath(r.URL.Path) || ssoSession(sess) {
		return true
	}
	target, _, err := requestTarget(r, d, u, routeOf(r))
	if e, ok := gatehouse.AsError(err); ok && e.Kind == gatehouse.KindNotFound {
		err = nil // an unknown project token: the handler answers it
	}
	if err == nil {
		err = d.TwoFactor.CheckEnforcement(r.Context(), u, gatehouse.HashSessionKey(sessionKey), target.Organization)
	}
	if err == nil {
		return true
	}
	// Rule 4: a user whose email domain enforces SSO is not asked for 2FA.
	if d.Domains != nil {
		if provider, perr := d.Domains.EnforcedProvider(r.Context(), u.Email); perr == nil && provider != "" {
			return true
		}
	}
	if e, ok := gatehouse.AsError(err); ok && e.Kind == gatehouse.KindPermissionDenied && !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/flags/") {
		http.Redirect(w, r, twoFactorSetupPage, http.StatusFound)
		return false
	}
	writeError(w, r, d.Logger, err)
	return false
}

// ssoSession reports whether a social or SAML sign-in created the session:
// every method but a password (with or without its second step) and a
// passkey.
func ssoSession(s *gatehouse.Session) bool {
	switch s.LoginMethod {
	case "", "password", "passkey":
		return false
	}
	return true
}

// twoFactorFields adds the user's 2FA state to a /api/users/@me answer;
// false when it could not be read (the answer then omits it).
func twoFactorFields(r *http.Request, d Deps, u *gatehouse.User, out *meBody) bool {
	if d.TwoFactor == nil {
		return true
	}
	has, err := d.TwoFactor.IsEnabled(r.Context(), u.ID)
	if err != nil {
		d.Logger.LogAttrs(r.Context(), slog.LevelError, "reading 2FA state", slog.String("error", err.Error()))
		return false
	}
	out.Is2FAEnabled = has
	if d.Passkeys != nil {
		on, err := d.Passkeys.TwoFactorFlag(r.Context(), u.ID)
		if err != nil {
			d.Logger.LogAttrs(r.Context(), slog.LevelError, "reading passkey 2FA state", slog.String("error", err.Error()))
			return false
		}
		out.PasskeysEnabledFor2FA = &on
	}
	return true
}
