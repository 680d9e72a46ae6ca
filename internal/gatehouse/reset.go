package gatehouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Password-reset numbers (docs/posthog-compat.md#password-reset).
const (
	// ResetTokenTTL is how long a reset link works.
	ResetTokenTTL = 24 * time.Hour
	// ResetRequestLimit requests per ResetRequestPeriod are allowed per
	// email address.
	ResetRequestLimit  = 3
	ResetRequestPeriod = time.Hour
)

// ResetStore is what password reset needs from storage.
type ResetStore interface {
	UserByEmail(ctx context.Context, email string) (*User, error)
	UserByUUID(ctx context.Context, uuid string) (*User, error)
	SetPasswordResetRequestedAt(ctx context.Context, userID int64, at time.Time) error
	PasswordResetRequestedAt(ctx context.Context, userID int64) (at time.Time, ok bool, err error)
	// CompletePasswordReset sets the hash, clears the pending reset, ends
	// every session and deletes every personal API key, trusted device
	// and email sign-in link of the user atomically, only while the
	// pending reset is still expectedRequestedAt and the password hash is
	// still expectedHash (a password changed meanwhile kills the token);
	// ok is false otherwise. revokedKeys are the deleted keys' labels.
	CompletePasswordReset(ctx context.Context, userID int64, expectedRequestedAt time.Time, expectedHash, newHash Secret) (revokedKeys []string, ok bool, err error)
}

// Signer makes and checks MACs. *secretkey.Key satisfies it: Sign uses the
// current SECRET_KEY and Verify accepts the fallbacks too, in constant time.
type Signer interface {
	Sign(msg []byte) []byte
	Verify(msg, mac []byte) bool
}

// ResetThrottle counts one reset request for the (lower-cased) email and
// says whether it is allowed; retryAfter is set when it is not.
type ResetThrottle func(ctx context.Context, email string) (ok bool, retryAfter time.Duration, err error)

// Notify queues a plain-text email to to. It must not block on delivery.
type Notify func(ctx context.Context, to, subject, text string) error

// ResetService runs the password-reset flow: request a link by email,
// check a link, set a new password with it. Tokens are not stored: each is
// an HMAC over the user's id, email, password hash and pending-reset time,
// so completing or re-requesting a reset, changing the password or
// changing the email kills every older token.
type ResetService struct {
	Store ResetStore
	Key   Signer
	// SSO refuses resets for emails whose domain enforces SSO; nil: none.
	SSO SSOPolicy
	// Throttle limits requests per email; nil: no throttle (tests only).
	Throttle ResetThrottle
	// Notify queues emails; nil drops them.
	Notify Notify
	// HashPassword turns the new password into its stored form.
	HashPassword func(ctx context.Context, pw Secret) (Secret, error)
	// CheckPassword enforces the password policy; nil accepts any password
	// of at least MinPasswordLength characters.
	CheckPassword func(pw Secret, userInputs ...string) error
	// SiteURL is the public base URL the reset link points at.
	SiteURL string
	// Lockout lifts the account-wide login lock once the owner has reset
	// the password; nil: nothing to lift.
	Lockout AccountUnlocker
	Now     func() time.Time
	// Logger records failures of the work done after answering; nil
	// discards them.
	Logger *slog.Logger
	// After runs the part of a request that only a known email needs
	// (recording it and queueing the link) once the caller has been
	// answered; nil runs it on a new goroutine that Wait waits for.
	After func(work func())

	pending sync.WaitGroup
}

// Email subjects.
const (
	resetRequestSubject = "Reset your Gatehouse password"
	resetDoneSubject    = "Your Gatehouse password was changed"
)

func (s *ResetService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// errInvalidResetToken is the one answer for an unknown user, a malformed,
// tampered, expired or used token, so none can be told apart.
func errInvalidResetToken() *Error {
	return Invalid("invalid_token", "token", "This reset token is invalid or has expired.")
}

// Request starts a reset for email: when email belongs to an active user
// it records the request and mails a link. Known, inactive and unknown
// emails get the same nil answer after the same work (the throttle, one
// lookup of the email, the SSO check): everything only a known email needs
// (a write to the user, a MAC, a write to the outbox) runs after the answer
// through After, so response times do not reveal which emails have
// accounts.
func (s *ResetService) Request(ctx context.Context, email, clientIP string) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	lower := strings.ToLower(email)
	if s.Throttle != nil {
		ok, retry, err := s.Throttle(ctx, lower)
		if err != nil {
			return fmt.Errorf("reset: throttle: %w", err)
		}
		if !ok {
			return ThrottledError(retry)
		}
	}
	user, err := s.Store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("reset: finding user: %w", err)
	}
	// A domain that enforces SSO answers 400 sso_enforced (docs/posthog-compat.md#password-reset), for
	// known and unknown emails alike.
	if err := checkSSO(ctx, s.SSO, email); err != nil {
		return err
	}
	if user == nil || !user.IsActive {
		return nil
	}
	// The caller's request may end as soon as it is answered.
	later := context.WithoutCancel(ctx)
	s.after(func() {
		ctx, cancel := context.WithTimeout(later, resetSendTimeout)
		defer cancel()
		s.send(ctx, user)
	})
	return nil
}

// resetSendTimeout bounds the work of a request done after its answer.
const resetSendTimeout = 30 * time.Second

func (s *ResetService) after(work func()) {
	if s.After != nil {
		s.After(work)
		return
	}
	s.pending.Add(1)
	go func() {
		defer s.pending.Done()
		work()
	}()
}

// Wait waits for the work of answered requests that is still running (on
// shutdown, and in tests before reading the mail).
func (s *ResetService) Wait() { s.pending.Wait() }

// send records a reset request of user and mails the link. Failures are
// not the caller's (it was answered already): they are logged (the outbox
// logs its own), and a failed record means no link is sent.
func (s *ResetService) send(ctx context.Context, user *User) {
	now := s.now()
	// The pending-reset time must change with every request, or a token
	// from a request in the same millisecond would survive a newer one.
	requestedAt := now.Truncate(time.Millisecond)
	previous, pending, err := s.Store.PasswordResetRequestedAt(ctx, user.ID)
	if err == nil {
		if pending && !requestedAt.After(previous) {
			requestedAt = previous.Add(time.Millisecond)
		}
		ctx := WithAuditEvents(ctx, AccountEvent(AuditPasswordResetAsked, user)) // audit log
		err = s.Store.SetPasswordResetRequestedAt(ctx, user.ID, requestedAt)
	}
	if err != nil {
		if s.Logger != nil {
			s.Logger.LogAttrs(ctx, slog.LevelError, "recording a password reset request failed: no link sent",
				slog.String("user", user.UUID), slog.String("error", err.Error()))
		}
		return
	}
	token := s.token(user, requestedAt, now)
	link := strings.TrimRight(s.SiteURL, "/") + "/reset/" + user.UUID + "/" + token.Reveal()
	s.notify(ctx, user.Email, resetRequestSubject, fmt.Sprintf(
		"Someone (hopefully you) asked to reset the password of your Gatehouse account %s.\n\n"+
			"Open this link within 24 hours to choose a new password:\n\n%s\n\n"+
			"If you did not ask for this, ignore this email: your password stays as it is.\n", user.Email, link))
}

// Validate checks a reset token for the user with userUUID.
func (s *ResetService) Validate(ctx context.Context, userUUID, token string) error {
	_, _, err := s.check(ctx, userUUID, token)
	return err
}

// Complete sets a new password with a reset token, ends every session of
// the user and returns the user. It does not sign in. Of several concurrent
// completions with one token exactly one succeeds.
func (s *ResetService) Complete(ctx context.Context, userUUID, token string, newPassword Secret) (*User, error) {
	if token == "" {
		return nil, Invalid("required", "token", "This field is required.")
	}
	if newPassword == "" {
		return nil, Invalid("required", "password", "This field is required.")
	}
	user, requestedAt, err := s.check(ctx, userUUID, token)
	if err != nil {
		return nil, err
	}
	if err := s.checkPassword(newPassword, user.Email, user.FirstName, user.LastName); err != nil {
		return nil, err
	}
	hash, err := s.HashPassword(ctx, newPassword)
	if err != nil {
		return nil, err
	}
	ctx = WithAuditEvents(ctx, withActor(AccountEvent(AuditPasswordResetDone, user), user)) // audit log
	revoked, ok, err := s.Store.CompletePasswordReset(ctx, user.ID, requestedAt, user.PasswordHash, hash)
	if err != nil {
		return nil, fmt.Errorf("reset: setting password: %w", err)
	}
	if !ok {
		return nil, errInvalidResetToken()
	}
	if s.Lockout != nil {
		if err := s.Lockout.Unlock(ctx, user.Email); err != nil {
			return nil, fmt.Errorf("reset: lifting the login lock: %w", err)
		}
	}
	s.notify(ctx, user.Email, resetDoneSubject, fmt.Sprintf(
		"The password of your Gatehouse account %s was just changed with a reset link, and every session was signed out.\n\n"+
			"%s"+
			"If this was not you, reset your password again right away and tell your administrator.\n", user.Email, RevokedAccessText(revoked)))
	return user, nil
}

// RevokedAccessText is the paragraph of a security email that says what a
// change of hands of an account (a password reset, an SSO takeover)
// revoked: every trusted device and the personal API keys named by their
// labels (never their values).
func RevokedAccessText(revokedKeyLabels []string) string {
	var b strings.Builder
	b.WriteString("Every device trusted to skip two-factor authentication must pass it again.\n\n")
	if len(revokedKeyLabels) == 0 {
		b.WriteString("The account had no personal API keys.\n\n")
		return b.String()
	}
	b.WriteString("These personal API keys were revoked and no longer work; create new ones if you need them:\n\n")
	for _, l := range revokedKeyLabels {
		b.WriteString("  - " + l + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

func (s *ResetService) checkPassword(pw Secret, inputs ...string) error {
	if len([]rune(pw.Reveal())) < MinPasswordLength {
		return Invalid("password_too_short", "password", "This password is too short. It must contain at least %d characters.", MinPasswordLength)
	}
	if s.CheckPassword != nil {
		return s.CheckPassword(pw, inputs...)
	}
	return nil
}

// notify queues an email; a failure is not the request's failure (A.4).
func (s *ResetService) notify(ctx context.Context, to, subject, text string) {
	if s.Notify == nil {
		return
	}
	_ = s.Notify(ctx, to, subject, text) // the outbox logs its own failures
}

var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// check finds the user and verifies token against their pending reset.
func (s *ResetService) check(ctx context.Context, userUUID, token string) (*User, time.Time, error) {
	if token == "" {
		return nil, time.Time{}, Invalid("required", "token", "This field is required.")
	}
	if !uuidPattern.MatchString(userUUID) {
		return nil, time.Time{}, errInvalidResetToken()
	}
	user, err := s.Store.UserByUUID(ctx, strings.ToLower(userUUID))
	if errors.Is(err, ErrNotFound) {
		return nil, time.Time{}, errInvalidResetToken()
	}
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reset: finding user: %w", err)
	}
	requestedAt, pending, err := s.Store.PasswordResetRequestedAt(ctx, user.ID)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("reset: reading pending reset: %w", err)
	}
	if !user.IsActive || !pending || !s.verifyToken(user, requestedAt, token) {
		return nil, time.Time{}, errInvalidResetToken()
	}
	return user, requestedAt, nil
}

// resetTokenMessage is what a token's MAC covers. Fields are length-prefixed
// so no two different inputs share a message.
func resetTokenMessage(u *User, requestedAt time.Time, issued int64) []byte {
	var b []byte
	for _, f := range []string{
		"gatehouse/password-reset/v1",
		strconv.FormatInt(u.ID, 10),
		strings.ToLower(u.Email),
		u.PasswordHash.Reveal(),
		strconv.FormatInt(requestedAt.UnixMilli(), 10),
		strconv.FormatInt(issued, 10),
	} {
		b = strconv.AppendInt(b, int64(len(f)), 10)
		b = append(b, ':')
		b = append(b, f...)
	}
	return b
}

// token makes the reset token "<base36 unix seconds>-<hex HMAC>" for u's
// reset pending since requestedAt, issued at now.
func (s *ResetService) token(u *User, requestedAt, now time.Time) Secret {
	issued := now.Unix()
	mac := s.Key.Sign(resetTokenMessage(u, requestedAt, issued))
	return Secret(strconv.FormatInt(issued, 36) + "-" + hex.EncodeToString(mac))
}

// verifyToken checks token's MAC (in constant time) and age.
func (s *ResetService) verifyToken(u *User, requestedAt time.Time, token string) bool {
	ts, macHex, ok := strings.Cut(token, "-")
	if !ok || ts == "" || len(ts) > 13 || strings.Trim(ts, "0123456789abcdefghijklmnopqrstuvwxyz") != "" || len(macHex) != 64 {
		return false
	}
	issued, err := strconv.ParseInt(ts, 36, 64)
	if err != nil || issued < 0 {
		return false
	}
	mac, err := hex.DecodeString(macHex)
	if err != nil {
		return false
	}
	now := s.now()
	age := now.Sub(time.Unix(issued, 0))
	if age > ResetTokenTTL || age < -time.Minute {
		return false
	}
	return s.Key.Verify(resetTokenMessage(u, requestedAt, issued), mac)
}
