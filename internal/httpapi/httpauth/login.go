package httpauth

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Every way of signing in ends in this file. A password (the API's and the
// login page's) goes through PasswordLogin; a passkey, single sign-on, the
// second step, and the sign-ins that follow a signup, an invite or a
// verified email call StartSession once the user is proven. Both end in
// CompleteLogin: the cookies of the new session, the log line and the
// new-device notice.

// LoginStep is how a proven user signs in.
type LoginStep struct {
	// Method names what proved the user ("password", "passkey", a social
	// backend, "saml"); it is stored on the session.
	Method string
	// SecondFactor: a second factor was shown (a passkey, or the second
	// step), so the session counts as 2FA-verified.
	SecondFactor bool
	// SecondStep: this ends the second step of a password login: the
	// pending login ends and, unless DontRemember, the browser is
	// remembered (it skips the second step for 30 days).
	SecondStep bool
	// DontRemember: the person asked not to remember this browser at the
	// second step (the login page's unchecked box, the API's
	// "remember": false). The zero value remembers, PostHog's default.
	DontRemember bool
	// NewAccount: the account was created (or its email proven) just now;
	// there is no earlier device to compare with, so no new-device notice.
	NewAccount bool
}

// PasswordLogin signs in with an email and a password. Refusals are
// counted and written to the audit log; an unverified email gets its link
// again; a login that needs a second step sets the pending-login cookie
// (and mails the email-MFA link) and returns the step's error.
func PasswordLogin(w http.ResponseWriter, r *http.Request, d Auth, email string, password gatehouse.Secret) (*gatehouse.LoginResult, error) {
	res, err := d.Sessions.Login(r.Context(), gatehouse.LoginInput{Email: email, Password: password,
		ClientIP: ClientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: PreviousSessionKey(r), RememberDevices: RememberCookies(r)})
	CountLogin("password", err)
	AuditLoginRefused(r, d, email, err)
	if err != nil {
		NotVerified(r, d, err)
		SecondStepDue(w, r, d, err)
		return nil, err
	}
	CompleteLogin(w, r, d, res, LoginStep{Method: "password"})
	return res, nil
}

// StartSession signs in user, whom step has proven: it starts the session
// (ending the one the request carries), marks it verified after a second
// factor, remembers the browser after the second step, and completes the
// login.
func StartSession(w http.ResponseWriter, r *http.Request, d Auth, user *gatehouse.User, step LoginStep) (*gatehouse.LoginResult, error) {
	ctx := r.Context()
	res, err := d.Sessions.StartSession(ctx, user, gatehouse.LoginInput{ClientIP: ClientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: PreviousSessionKey(r)}, step.Method)
	if err != nil {
		return nil, err
	}
	if (step.SecondFactor || step.SecondStep) && d.TwoFactor != nil {
		if err := d.TwoFactor.MarkSessionVerified(ctx, res); err != nil {
			return nil, err
		}
	}
	if step.SecondStep {
		if !step.DontRemember {
			dev, token, err := d.TwoFactor.Remember(ctx, user, ClientIP(r), r.UserAgent())
			if err != nil {
				return nil, err
			}
			d.Cookies.Set(w, RememberCookiePrefix+dev.ID, token.Reveal(), RememberCookieOptions())
		}
		if err := d.TwoFactor.EndPendingLogin(ctx, PendingKey(r)); err != nil {
			return nil, err
		}
		d.Cookies.Clear(w, PendingLoginCookie, cookies.Options{})
	}
	CompleteLogin(w, r, d, res, step)
	return res, nil
}

// CompleteLogin ends every sign-in: it sets the new session's cookie and
// its CSRF cookie, logs the login and, from a device not seen lately,
// mails the new-device notice.
func CompleteLogin(w http.ResponseWriter, r *http.Request, d Auth, res *gatehouse.LoginResult, step LoginStep) {
	setSessionCookie(w, d.Cookies, res.SessionKey, res.Session)
	setSessionCSRFCookie(w, d, res.SessionKey.Reveal(), time.Until(res.Session.ExpiresAt).Round(time.Second))
	Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "login", slog.String("user", res.User.UUID),
		slog.String("method", step.Method), slog.String("client", ClientIP(r)))
	if res.NewDevice && !step.NewAccount {
		QueueMail(r, d, NewDeviceMail(res.User, res.Session))
	}
}

// EndSession ends the caller's session, if the request has one, and clears
// the session cookie: logging out, from the API and from the pages.
func EndSession(w http.ResponseWriter, r *http.Request, d Auth) error {
	if a := CallerFrom(r.Context()); a != nil && a.Session != nil {
		if err := d.Sessions.Logout(r.Context(), a.SessionKey); err != nil {
			return err
		}
	}
	d.Cookies.Clear(w, SessionCookie, cookies.Options{})
	return nil
}
