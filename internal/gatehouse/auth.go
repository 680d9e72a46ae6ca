package gatehouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// LoginStore is what signing in needs from storage.
type LoginStore interface {
	UserByEmail(ctx context.Context, email string) (*User, error)
	UserByID(ctx context.Context, id int64) (*User, error)
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	SetPasswordHash(ctx context.Context, userID int64, hash Secret) error
	CreateSession(ctx context.Context, keyHash string, s *Session) error
	SessionByKeyHash(ctx context.Context, keyHash string) (*Session, error)
	DeleteSession(ctx context.Context, keyHash string) error
}

// PasswordChecker verifies and hashes passwords with bounded concurrency.
type PasswordChecker interface {
	Verify(ctx context.Context, pw, stored Secret) (ok, needsRehash bool, err error)
	VerifyNothing(ctx context.Context, pw Secret) error
	Hash(ctx context.Context, pw Secret) (Secret, error)
}

// LoginGuard is the lockout: it refuses logins for an (email, address), an
// address or an account with too many recent failures.
type LoginGuard interface {
	// Reserve claims one password check for email from clientIP before the
	// password is hashed, so that concurrent guesses cannot all pass the
	// lockout: it returns a *Error (too_many_failed_attempts when locked
	// out, server_busy when the last allowed checks are already running)
	// and claims nothing, or an attempt that must be settled once.
	Reserve(ctx context.Context, email, clientIP string) (LoginAttempt, error)
	// Check returns a *Error (too_many_failed_attempts) when the email is
	// locked out from clientIP or clientIP is; it claims nothing, and the
	// account-wide ceiling on password guesses does not apply (logins that
	// cannot be guessed, such as passkeys).
	Check(ctx context.Context, email, clientIP string) error
	// Failed counts a failure that was not reserved.
	Failed(ctx context.Context, email, clientIP string) error
	// Succeeded clears the (email, address) failures after a sign-in that
	// was not reserved.
	Succeeded(ctx context.Context, email, clientIP string) error
}

// LoginAttempt is a password check reserved by LoginGuard.Reserve. Exactly
// one of its methods is called, once the check's outcome is known.
type LoginAttempt interface {
	// Failed keeps the attempt as a failure; it returns the lockout
	// *Error when this failure reached a limit.
	Failed(ctx context.Context) error
	// Succeeded gives the attempt back and clears the (email, address)
	// failures.
	Succeeded(ctx context.Context) error
	// Release gives the attempt back: no password was checked.
	Release(ctx context.Context) error
}

// AccountUnlocker lifts the account-wide login lock of an email, once its
// owner has proved control of the mailbox (a completed password reset).
type AccountUnlocker interface {
	Unlock(ctx context.Context, email string) error
}

// noAttempt is the attempt of a service without a guard (tests only).
type noAttempt struct{}

func (noAttempt) Failed(context.Context) error    { return nil }
func (noAttempt) Succeeded(context.Context) error { return nil }
func (noAttempt) Release(context.Context) error   { return nil }

// reservePassword claims a password check from guard; a nil guard claims
// nothing.
func reservePassword(ctx context.Context, guard LoginGuard, email, clientIP string) (LoginAttempt, error) {
	if guard == nil {
		return noAttempt{}, nil
	}
	return guard.Reserve(ctx, email, clientIP)
}

// AuthService signs people in and out and resolves sessions.
type AuthService struct {
	Store     LoginStore
	Passwords PasswordChecker
	Guard     LoginGuard // nil: no lockout (tests only)
	// Devices remembers where users sign in from; nil: no new-device
	// detection.
	Devices DeviceStore
	// RequireVerifiedEmail refuses sign-in to users whose email is awaiting
	// verification (explicitly false; legacy unset is let through). On when
	// email is configured.
	RequireVerifiedEmail bool
	// SSO refuses passwords for emails whose domain enforces another
	// sign-in method (docs/posthog-compat.md#sso-enforcement); nil: no domain enforces anything.
	SSO SSOPolicy
	// SessionAge is the instance default lifetime (SESSION_COOKIE_AGE).
	SessionAge time.Duration
	// TwoFactor holds password logins of users with a second factor at
	// the second step; nil: no second step.
	TwoFactor *TwoFactorService
	Now       func() time.Time
}

// LoginInput is a password login attempt.
type LoginInput struct {
	Email     string
	Password  Secret
	ClientIP  string
	UserAgent string
	// PreviousSessionKey is the session cookie the request carried, if
	// any: it is ended, so a key planted before login never becomes the
	// signed-in session.
	PreviousSessionKey string
	// RememberDevices are the remember_device_<id> cookies the request
	// carried; a valid one skips the second step.
	RememberDevices []RememberCookie

	// reauth is whether PreviousSessionKey is a live session of the user,
	// once Login has checked (reauthChecked).
	reauth, reauthChecked bool
}

// LoginResult is a new signed-in session. SessionKey goes in the cookie.
type LoginResult struct {
	User       *User
	Session    *Session
	SessionKey Secret
	// NewDevice is true when the user has not signed in from this network
	// and browser in KnownDeviceWindow: the caller sends the notice (not
	// after signup, where the device is simply registered).
	NewDevice bool
	// Reauth is true when the request already carried a live session of
	// the same user: a re-authentication (docs/posthog-compat.md#re-authentication), which renews the
	// session's login time but sends no new-device notice and asks for no
	// email second factor.
	Reauth bool
}

// errInvalidCredentials is the one answer for a wrong password, an unknown
// email and an inactive account, so none can be told apart.
func errInvalidCredentials() *Error {
	return Invalid("invalid_credentials", "", "Invalid email or password.")
}

func (a *AuthService) now() time.Time {
	if a.Now != nil {
		return a.Now().UTC()
	}
	return time.Now().UTC()
}

// Login checks an email and password and, when they match an active user
// who is not locked out, starts a new session.
func (a *AuthService) Login(ctx context.Context, in LoginInput) (*LoginResult, error) {
	email := strings.TrimSpace(in.Email)
	if email == "" {
		return nil, Invalid("required", "email", "This field is required.")
	}
	if in.Password == "" {
		return nil, Invalid("required", "password", "This field is required.")
	}
	if err := checkSSO(ctx, a.SSO, email); err != nil {
		return nil, err
	}
	// The attempt is reserved before the slow hash and settled after it:
	// however many guesses arrive at once, no more are checked than the
	// lockout allows.
	attempt, err := reservePassword(ctx, a.Guard, email, in.ClientIP)
	if err != nil {
		return nil, err
	}
	user, err := a.Store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		if err := a.Passwords.VerifyNothing(ctx, in.Password); err != nil {
			attempt.Release(ctx)
			return nil, err
		}
		return nil, failAttempt(ctx, attempt)
	}
	if err != nil {
		attempt.Release(ctx)
		return nil, fmt.Errorf("login: finding user: %w", err)
	}
	ok, rehash := false, false
	if user.PasswordHash != "" {
		ok, rehash, err = a.Passwords.Verify(ctx, in.Password, user.PasswordHash)
		if err != nil {
			if e, isDomain := AsError(err); isDomain {
				attempt.Release(ctx)
				return nil, e // busy: 503, not a failed attempt
			}
			ok = false // an unreadable stored hash counts as a mismatch
		}
	} else if err := a.Passwords.VerifyNothing(ctx, in.Password); err != nil {
		attempt.Release(ctx)
		return nil, err
	}
	if !ok || !user.IsActive {
		return nil, failAttempt(ctx, attempt)
	}
	if err := attempt.Succeeded(ctx); err != nil {
		return nil, err
	}
	if a.RequireVerifiedEmail && user.IsEmailVerified != nil && !*user.IsEmailVerified {
		return nil, &Error{Kind: KindInvalid, Code: "not_verified",
			Detail: "Your account is awaiting verification. Please check your email for a verification link.",
			Err:    &UnverifiedEmailError{User: user}}
	}
	if rehash {
		if h, err := a.Passwords.Hash(ctx, in.Password); err == nil {
			if err := a.Store.SetPasswordHash(ctx, user.ID, h); err != nil {
				// Best effort: the old hash still verifies next time.
				bookkeepingFailed(ctx, bookkeepingPasswordHashUpgrade, err)
			}
		}
	}
	in.reauth, in.reauthChecked = a.IsReauth(ctx, user, in.PreviousSessionKey), true
	verified := false
	if a.TwoFactor != nil {
		if verified, err = a.TwoFactor.BeginLogin(ctx, user, in); err != nil {
			return nil, err
		}
	}
	res, err := a.startSession(ctx, user, in, "password")
	if err == nil && verified {
		err = a.TwoFactor.MarkSessionVerified(ctx, res)
	}
	return res, err
}

// failAttempt settles a wrong password: the lockout when it reached a
// limit, else the invalid-credentials answer.
func failAttempt(ctx context.Context, attempt LoginAttempt) error {
	if err := attempt.Failed(ctx); err != nil {
		return err
	}
	return errInvalidCredentials()
}

// IsReauth reports whether previousKey is a live session of user: then a
// new sign-in is a re-authentication (docs/posthog-compat.md#re-authentication), which sends no new-device
// notice and skips the email second factor.
func (a *AuthService) IsReauth(ctx context.Context, user *User, previousKey string) bool {
	if previousKey == "" || len(previousKey) > 128 {
		return false
	}
	prev, err := a.Store.SessionByKeyHash(ctx, HashSessionKey(previousKey))
	return err == nil && prev.UserID == user.ID && !prev.Expired(a.now())
}

// StartSession signs user in without a password check: after signup, or
// when another method (SSO, passkey) has already authenticated them.
func (a *AuthService) StartSession(ctx context.Context, user *User, in LoginInput, method string) (*LoginResult, error) {
	return a.startSession(ctx, user, in, method)
}

func (a *AuthService) startSession(ctx context.Context, user *User, in LoginInput, method string) (*LoginResult, error) {
	now := a.now()
	reauth := in.reauth
	if !in.reauthChecked {
		reauth = a.IsReauth(ctx, user, in.PreviousSessionKey)
	}
	if in.PreviousSessionKey != "" && len(in.PreviousSessionKey) <= 128 {
		if err := a.Store.DeleteSession(ctx, HashSessionKey(in.PreviousSessionKey)); err != nil {
			return nil, fmt.Errorf("login: ending the previous session: %w", err)
		}
	}
	var org *Organization
	if user.CurrentOrganizationID != "" {
		o, err := a.Store.OrganizationByID(ctx, user.CurrentOrganizationID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("login: organization: %w", err)
		}
		org = o
	}
	key, hash := NewSessionKey()
	sess := &Session{PublicID: NewUUID(), UserID: user.ID, CreatedAt: now, LastActivityAt: now,
		ExpiresAt: now.Add(SessionLifetime(org, a.SessionAge)), ClientIP: in.ClientIP, UserAgent: truncate(in.UserAgent, 512), LoginMethod: method}
	ctx = WithAuditEvents(ctx, loginEvent(user, sess)) // audit log
	if err := a.Store.CreateSession(ctx, hash, sess); err != nil {
		return nil, fmt.Errorf("login: creating session: %w", err)
	}
	res := &LoginResult{User: user, Session: sess, SessionKey: key, Reauth: reauth}
	if a.Devices != nil {
		prev, err := a.Devices.SeeDevice(ctx, user.ID, DeviceFingerprint(in.ClientIP, in.UserAgent), now)
		if err != nil {
			// Best effort: the user is signed in. Whether the device is
			// known cannot be told, so the new-device notice goes out.
			bookkeepingFailed(ctx, bookkeepingKnownDevice, err)
			prev = time.Time{}
		}
		res.NewDevice = !reauth && (prev.IsZero() || now.Sub(prev) > KnownDeviceWindow)
	}
	return res, nil
}

// ErrNoSession means the request carries no valid session.
var ErrNoSession = errors.New("no valid session")

// Authenticate resolves a session key from a cookie to its user. Expired
// sessions, sessions whose organization lifetime has since shortened, and
// sessions of inactive users are ended and refused.
func (a *AuthService) Authenticate(ctx context.Context, key string) (*User, *Session, error) {
	if key == "" || len(key) > 128 {
		return nil, nil, ErrNoSession
	}
	hash := HashSessionKey(key)
	sess, err := a.Store.SessionByKeyHash(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	now := a.now()
	user, err := a.Store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, ErrNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	expires := sess.ExpiresAt
	if user.CurrentOrganizationID != "" {
		if org, err := a.Store.OrganizationByID(ctx, user.CurrentOrganizationID); err == nil {
			if e := sess.CreatedAt.Add(SessionLifetime(org, a.SessionAge)); e.Before(expires) {
				expires = e
			}
		}
	}
	if !now.Before(expires) || !user.IsActive {
		a.Store.DeleteSession(ctx, hash)
		return nil, nil, ErrNoSession
	}
	return user, sess, nil
}

// Logout ends the session with this key, if there is one.
func (a *AuthService) Logout(ctx context.Context, key string) error {
	if key == "" {
		return nil
	}
	ctx = WithAuditEvents(ctx, sessionEvent(ctx, AuditLogout, "")) // audit log
	return a.Store.DeleteSession(ctx, HashSessionKey(key))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// UnverifiedEmailError is the cause of a not_verified refusal; it carries
// the user so the caller can send a fresh verification link.
type UnverifiedEmailError struct{ User *User }

func (e *UnverifiedEmailError) Error() string { return "email awaiting verification" }
