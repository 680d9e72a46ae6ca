package httpauth

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// Two-factor cookies.
const (
	// pendingLoginCookie carries the key of a login waiting for its second
	// step (the password step never creates a signed-in session).
	PendingLoginCookie = "gatehouse_2fa_pending"
	// rememberCookiePrefix + device id names a remembered browser's cookie.
	RememberCookiePrefix = "remember_device_"
	// twoFactorSetupPage is where web pages send users an organization
	// requires to set up or verify 2FA.
	TwoFactorSetupPage = "/settings/two_factor"
)

// noteTwoFactorEnabled logs TOTP being turned on and mails the user (the
// API and the settings page).
func NoteTwoFactorEnabled(r *http.Request, d Auth, u *gatehouse.User) {
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "2fa enabled", slog.String("user", u.UUID), slog.String("client", ClientIP(r)))
	QueueMail(r, d, mail.TwoFactorEnabledNotice(u.Email))
}

// noteTwoFactorDisabled logs TOTP being turned off and mails the user.
func NoteTwoFactorDisabled(r *http.Request, d Auth, u *gatehouse.User) {
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "2fa disabled", slog.String("user", u.UUID), slog.String("client", ClientIP(r)))
	QueueMail(r, d, mail.TwoFactorDisabledNotice(u.Email))
}

// noteBackupCodeUsed logs a sign-in with a backup code and mails the user.
func NoteBackupCodeUsed(r *http.Request, d Auth, u *gatehouse.User) {
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "backup code used", slog.String("user", u.UUID), slog.String("client", ClientIP(r)))
	QueueMail(r, d, mail.BackupCodeUsedNotice(u.Email, ClientIP(r)))
}

// pendingLoginOver reports whether err ended the pending login (or found
// none), so its cookie is useless.
func PendingLoginOver(err error) bool {
	e, ok := gatehouse.AsError(err)
	return ok && (e.Code == "2fa_expired" || e.Code == "not_authenticated" || errors.Is(err, gatehouse.ErrPendingLoginEnded))
}

// noteCodeFailures mails the owner when a wrong second-step code was one
// of repeated ones: their password is known to whoever typed them.
func NoteCodeFailures(r *http.Request, d Auth, err error) {
	var f *gatehouse.CodeFailuresError
	if !errors.As(err, &f) {
		return
	}
	d.Logger.LogAttrs(r.Context(), slog.LevelWarn, "repeated wrong 2fa codes", slog.String("user", f.User.UUID),
		slog.Int64("count", f.Count), slog.String("client", ClientIP(r)))
	QueueMail(r, d, mail.TwoFactorFailuresNotice(f.User.Email, f.Count, ClientIP(r)))
}

// rememberCookies are the remember_device_<id> cookies of a request.
func RememberCookies(r *http.Request) []gatehouse.RememberCookie {
	var out []gatehouse.RememberCookie
	for _, c := range r.Cookies() {
		if id, ok := strings.CutPrefix(c.Name, RememberCookiePrefix); ok && id != "" && c.Value != "" {
			out = append(out, gatehouse.RememberCookie{ID: id, Token: gatehouse.Secret(c.Value)})
		}
	}
	return out
}

func RememberCookieOptions() cookies.Options {
	return cookies.Options{MaxAge: gatehouse.RememberDeviceTTL, SameSite: http.SameSiteStrictMode}
}

// secondStepDue handles a login answered 2fa_required or
// email_mfa_required: the pending-login cookie is set and, for email MFA,
// the link is mailed. Other errors pass untouched.
func SecondStepDue(w http.ResponseWriter, r *http.Request, d Auth, err error) {
	var p *gatehouse.PendingLoginError
	if !errors.As(err, &p) {
		return
	}
	ttl := gatehouse.TwoFactorLoginTTL
	if p.Method == gatehouse.PendingEmail {
		ttl = gatehouse.EmailMFATTL
		if p.EmailToken != "" {
			QueueMail(r, d, EmailMFAMail(d, p.User, p.EmailToken))
		}
	}
	d.Cookies.Set(w, PendingLoginCookie, p.Key.Reveal(), cookies.Options{MaxAge: ttl})
}

// emailMFAMail carries the sign-in link of email MFA.
func EmailMFAMail(d Auth, u *gatehouse.User, token gatehouse.Secret) mail.Message {
	link := "/login/email-mfa?" + url.Values{"email": {u.Email}, "token": {token.Reveal()}}.Encode()
	if d.SiteURL != nil {
		link = strings.TrimRight(d.SiteURL.String(), "/") + link
	}
	return mail.EmailMFANotice(u.Email, link)
}

func PendingKey(r *http.Request) string {
	if c, err := r.Cookie(PendingLoginCookie); err == nil {
		return c.Value
	}
	return ""
}

// twoFactorExempt are the paths an organization's 2FA requirement never
// blocks (PostHog's whitelist), without their trailing slash.
var twoFactorExempt = map[string]bool{
	"/api/users/@me/two_factor_start_setup": true, "/api/users/@me/two_factor_validate": true,
	"/api/users/@me/two_factor_status": true, "/api/users/@me/two_factor_backup_codes": true,
	"/api/users/@me/two_factor_disable": true, "/api/users/@me/start_2fa_setup": true, "/api/users/@me/validate_2fa": true,
	"/logout": true, "/api/logout": true, "/api/login": true, "/api/login/token": true, "/api/login/email-mfa": true,
	"/api/login/email-mfa/resend": true, "/api/users/@me": true, "/_health": true, TwoFactorSetupPage: true,
}

var twoFactorExemptPrefixes = []string{"/static/", "/uploaded_media/", "/api/instance_status", "/api/signup", "/api/social_signup",
	"/login/google-oauth2", "/login/github", "/login/gitlab", "/login/saml", "/complete/google-oauth2", "/complete/github",
	"/complete/gitlab", "/complete/saml", "/api/saml/metadata", TwoFactorSetupPage + "/",
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
// stops the request with 403 two_factor_setup_required /
// two_factor_verification_required for the API, and for web pages answers
// it with a redirect to the 2FA set-up page (answered).
func twoFactorGate(w http.ResponseWriter, r *http.Request, d Auth, u *gatehouse.User, sess *gatehouse.Session, sessionKey string) (answered bool, err error) {
	// docs/posthog-compat.md#two-factor-enforcement rules 1 and 2: whitelisted paths, and sessions an SSO backend
	// created (the identity provider vouched for the sign-in).
	if d.TwoFactor == nil || twoFactorExemptPath(r.URL.Path) || ssoSession(sess) {
		return false, nil
	}
	target, _, err := RequestTarget(r, d, u, routeOf(r, d))
	if e, ok := gatehouse.AsError(err); ok && e.Kind == gatehouse.KindNotFound {
		err = nil // an unknown project token: the handler answers it
	}
	if err == nil {
		err = d.TwoFactor.CheckEnforcement(r.Context(), u, gatehouse.HashSessionKey(sessionKey), target.Organization)
	}
	if err == nil {
		return false, nil
	}
	// Rule 4: a user whose email domain enforces SSO is not asked for 2FA.
	if d.Domains != nil {
		if provider, perr := d.Domains.EnforcedProvider(r.Context(), u.Email); perr == nil && provider != "" {
			return false, nil
		}
	}
	if e, ok := gatehouse.AsError(err); ok && e.Kind == gatehouse.KindPermissionDenied && !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/flags/") {
		http.Redirect(w, r, TwoFactorSetupPage, http.StatusFound)
		return true, nil
	}
	return false, err
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
