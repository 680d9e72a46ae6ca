package gatehouse

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

// Two-factor numbers (docs/posthog-compat.md#two-factor-authentication).
const (
	// TwoFactorLoginTTL is how long after the password step the second
	// step may be completed.
	TwoFactorLoginTTL = 600 * time.Second
	// TOTPSetupTTL is how long a secret shown for set-up waits for its
	// first code.
	TOTPSetupTTL = 600 * time.Second
	// RememberDeviceTTL is how long a remembered browser skips the second
	// step.
	RememberDeviceTTL = 30 * 24 * time.Hour
	// EmailMFATTL is how long an emailed sign-in link works.
	EmailMFATTL = 15 * time.Minute
	// TOTPIssuer names Gatehouse in authenticator apps.
	TOTPIssuer = "Gatehouse"
)

// Second-step methods of a pending login.
const (
	PendingTOTP  = "totp"
	PendingEmail = "email"
)

// TOTPDevice is a user's confirmed authenticator. Sealed is the secret
// encrypted under SECRET_KEY; LastStep the last time step accepted.
type TOTPDevice struct {
	UserID    int64
	Sealed    []byte
	LastStep  int64
	CreatedAt time.Time
}

// PendingLogin is a login that passed the password step and waits for the
// second one.
type PendingLogin struct {
	UserID    int64
	Method    string // PendingTOTP or PendingEmail
	CreatedAt time.Time
}

// RememberedDevice is a browser trusted to skip the second step. Only the
// hash of its cookie's token is kept.
type RememberedDevice struct {
	ID           string
	UserID       int64
	TokenHash    string
	PasswordMark string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastUsedAt   time.Time
	ClientIP     string
	UserAgent    string
}

// RememberCookie is one remember_device_<id> cookie a login carried.
type RememberCookie struct {
	ID    string
	Token Secret
}

// TwoFactorStore is what two-factor authentication needs from storage.
type TwoFactorStore interface {
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByEmail(ctx context.Context, email string) (*User, error)
	UserByUUID(ctx context.Context, uuid string) (*User, error)
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)

	SaveTOTPSetup(ctx context.Context, userID int64, sealed []byte, expires time.Time) error
	// TOTPSetup returns the pending set-up secret, ErrNotFound when there
	// is none or it expired by now.
	TOTPSetup(ctx context.Context, userID int64, now time.Time) ([]byte, error)
	// EnableTOTP makes sealed the user's device (replacing any), with
	// lastStep already used, replaces the backup codes with codeHashes and
	// ends the pending set-up, all at once.
	EnableTOTP(ctx context.Context, userID int64, sealed []byte, lastStep int64, codeHashes []string, now time.Time) error
	TOTPDevice(ctx context.Context, userID int64) (*TOTPDevice, error)
	SetTOTPSecret(ctx context.Context, userID int64, sealed []byte) error
	// UseTOTPStep records step as used only if it is later than the last
	// used step, and reports whether it did (of concurrent uses of one
	// code, exactly one wins).
	UseTOTPStep(ctx context.Context, userID int64, step int64) (bool, error)
	ReplaceBackupCodes(ctx context.Context, userID int64, codeHashes []string) error
	CountBackupCodes(ctx context.Context, userID int64) (int, error)
	// ConsumeBackupCode deletes the code and reports whether it existed.
	ConsumeBackupCode(ctx context.Context, userID int64, codeHash string) (bool, error)
	// ResetTwoFactor removes the TOTP device, its set-up, the backup
	// codes, remembered devices, pending logins and email links of the
	// user; hadTOTP reports whether there was a device.
	ResetTwoFactor(ctx context.Context, userID int64) (hadTOTP bool, err error)

	CreatePendingLogin(ctx context.Context, keyHash string, p *PendingLogin) error
	PendingLogin(ctx context.Context, keyHash string) (*PendingLogin, error)
	DeletePendingLogin(ctx context.Context, keyHash string) error

	CreateRememberedDevice(ctx context.Context, d *RememberedDevice) error
	RememberedDevice(ctx context.Context, id string) (*RememberedDevice, error)
	RememberedDevices(ctx context.Context, userID int64) ([]RememberedDevice, error)
	TouchRememberedDevice(ctx context.Context, id string, at time.Time) error
	DeleteRememberedDevice(ctx context.Context, userID int64, id string) (bool, error)
	DeleteRememberedDevices(ctx context.Context, userID int64) (int64, error)

	CreateEmailMFAToken(ctx context.Context, tokenHash string, userID int64, expires time.Time) error
	// ConsumeEmailMFAToken deletes an unexpired token of the user and
	// reports whether there was one.
	ConsumeEmailMFAToken(ctx context.Context, tokenHash string, userID int64, now time.Time) (bool, error)
	DeleteEmailMFATokens(ctx context.Context, userID int64) error

	MarkSessionTwoFactorVerified(ctx context.Context, sessionKeyHash string, at time.Time) error
	SessionTwoFactorVerified(ctx context.Context, sessionKeyHash string) (bool, error)
}

// Sealer encrypts secrets at rest. *secretkey.Key satisfies it: Seal uses
// the current SECRET_KEY and Open tries the fallbacks too, reporting stale
// when one was needed.
type Sealer interface {
	Seal(plaintext, additional []byte) []byte
	Open(sealed, additional []byte) (plaintext []byte, stale bool, err error)
}

// TwoFactorLimit counts one hit of kind ("two-factor" attempts,
// "email-mfa" sends) for the user and returns a throttled *Error when the
// limit is passed.
type TwoFactorLimit func(ctx context.Context, kind string, userID int64) error

// PendingLoginCodeLimit is how many wrong codes end a pending login: the
// password step must be passed again.
const PendingLoginCodeLimit = 10

// SecondStepGuard limits wrong codes at the second login step.
type SecondStepGuard interface {
	// Reserve claims one code check for the user's pending login (the
	// hash of its key) before the code is compared, so concurrent guesses
	// count too. It returns a *Error instead: ErrPendingCodesUsed when the
	// pending login has used its tries (the caller ends it), or
	// 2fa_too_many_attempts with a Retry-After while the user's delay
	// after repeated wrong codes runs.
	Reserve(ctx context.Context, userID int64, pendingKeyHash string) (CodeAttempt, error)
}

// CodeAttempt is a code check reserved by SecondStepGuard.Reserve. Exactly
// one of its methods is called once the outcome is known.
type CodeAttempt interface {
	// Failed keeps the attempt as a wrong code.
	Failed(ctx context.Context) (CodeFailures, error)
	// Succeeded clears the user's wrong codes and delay.
	Succeeded(ctx context.Context) error
	// Release gives the attempt back: no code was compared.
	Release(ctx context.Context) error
}

// CodeFailures is what a wrong code leaves behind.
type CodeFailures struct {
	// EndPending is true when the pending login has used its last try.
	EndPending bool
	// Count is the user's recent wrong codes, this one included.
	Count int64
	// Notify is true when the owner should be told by email.
	Notify bool
}

// CodeFailuresError is the cause of a wrong code's answer when the owner
// should be told of repeated wrong codes: the caller sends the notice.
type CodeFailuresError struct {
	User  *User
	Count int64
}

func (e *CodeFailuresError) Error() string { return "repeated wrong second-step codes" }

// ErrPendingLoginEnded is the cause of ErrPendingCodesUsed: the caller
// forgets the pending-login cookie.
var ErrPendingLoginEnded = errors.New("pending login ended after too many wrong codes")

// ErrPendingCodesUsed is the answer once a pending login has used its
// PendingLoginCodeLimit tries: it has ended.
func ErrPendingCodesUsed() *Error {
	return &Error{Kind: KindInvalid, Code: "2fa_too_many_attempts",
		Detail: "Too many attempts. Sign in again with your email and password.", Err: ErrPendingLoginEnded}
}

// noCodeAttempt is the attempt of a service without a guard (tests only).
type noCodeAttempt struct{}

func (noCodeAttempt) Failed(context.Context) (CodeFailures, error) { return CodeFailures{}, nil }
func (noCodeAttempt) Succeeded(context.Context) error              { return nil }
func (noCodeAttempt) Release(context.Context) error                { return nil }

// TwoFactorService runs TOTP set-up and management, backup codes, the
// second login step, email MFA, remembered devices, organization
// enforcement and admin resets.
type TwoFactorService struct {
	// hasTOTP and passkey2FA cache the two halves of IsEnabled under the
	// request's auth generation.
	hasTOTP, passkey2FA genCache[int64, bool]

	Store TwoFactorStore
	// Secrets seals TOTP secrets (secretkey PurposeTOTPSecret).
	Secrets Sealer
	// EmailKey signs email-MFA links (secretkey PurposeEmailMFA).
	EmailKey Signer
	// EmailMFA sends users without TOTP a sign-in link after their
	// password (EMAIL_MFA_ENABLED).
	EmailMFA bool
	// Limit applies the per-user limits; nil: none (tests only).
	Limit TwoFactorLimit
	// Codes limits wrong codes at the second login step: per pending
	// login, and per user with a growing delay; nil: none (tests only).
	Codes SecondStepGuard
	// Passkeys makes passkeys a second factor for users who turn
	// passkeys_enabled_for_2fa on; nil: no passkey 2FA.
	Passkeys *PasskeyService
	Now      func() time.Time
}

func (s *TwoFactorService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *TwoFactorService) limit(ctx context.Context, kind string, userID int64) error {
	if s.Limit == nil {
		return nil
	}
	return s.Limit(ctx, kind, userID)
}

// totpAD binds a sealed secret to its user, so a sealed value copied to
// another user's row does not open.
func totpAD(u *User) []byte { return []byte("gatehouse/totp\x00" + u.UUID) }

// openDevice decrypts the user's TOTP secret, re-sealing it under the
// current key when a fallback key was needed.
func (s *TwoFactorService) openDevice(ctx context.Context, u *User, d *TOTPDevice) ([]byte, error) {
	secret, stale, err := s.Secrets.Open(d.Sealed, totpAD(u))
	if err != nil {
		return nil, fmt.Errorf("two-factor: opening TOTP secret of user %d: %w", u.ID, err)
	}
	if stale {
		if err := s.Store.SetTOTPSecret(ctx, u.ID, s.Secrets.Seal(secret, totpAD(u))); err != nil {
			return nil, fmt.Errorf("two-factor: re-sealing TOTP secret: %w", err)
		}
	}
	return secret, nil
}

// device returns the user's TOTP device, or nil when there is none.
func (s *TwoFactorService) device(ctx context.Context, userID int64) (*TOTPDevice, error) {
	d, err := s.Store.TOTPDevice(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return d, err
}

// HasTOTP reports whether the user has a confirmed TOTP device.
func (s *TwoFactorService) HasTOTP(ctx context.Context, userID int64) (bool, error) {
	if has, ok := s.hasTOTP.get(ctx, userID); ok {
		return has, nil
	}
	d, err := s.device(ctx, userID)
	if err == nil {
		s.hasTOTP.put(ctx, userID, d != nil)
	}
	return d != nil, err
}

// passkeyFactor reports whether the user's passkeys are a second factor
// (passkeys_enabled_for_2fa and a verified passkey).
func (s *TwoFactorService) passkeyFactor(ctx context.Context, userID int64) (bool, error) {
	if s.Passkeys == nil {
		return false, nil
	}
	return s.Passkeys.TwoFactorEnabled(ctx, userID)
}

// IsEnabled reports whether the user has a second factor: TOTP, or
// passkeys used for 2FA (is_2fa_enabled).
func (s *TwoFactorService) IsEnabled(ctx context.Context, userID int64) (bool, error) {
	has, err := s.HasTOTP(ctx, userID)
	if err != nil || has {
		return has, err
	}
	if on, ok := s.passkey2FA.get(ctx, userID); ok {
		return on, nil
	}
	on, err := s.passkeyFactor(ctx, userID)
	if err == nil {
		s.passkey2FA.put(ctx, userID, on)
	}
	return on, err
}

// TOTPSetup is a secret offered for set-up: Secret (base32) to type in,
// URI to scan as a QR code.
type TOTPSetup struct {
	Secret Secret
	URI    Secret
}

// StartSetup makes a new TOTP secret and keeps it, sealed, for
// TOTPSetupTTL until a code from it confirms it.
func (s *TwoFactorService) StartSetup(ctx context.Context, u *User) (*TOTPSetup, error) {
	secret := mfa.NewSecret()
	if err := s.Store.SaveTOTPSetup(ctx, u.ID, s.Secrets.Seal(secret, totpAD(u)), s.now().Add(TOTPSetupTTL)); err != nil {
		return nil, err
	}
	return &TOTPSetup{Secret: Secret(mfa.EncodeSecret(secret)), URI: Secret(mfa.URI(secret, TOTPIssuer, u.Email))}, nil
}

// ValidateSetup confirms the pending secret with a code from it: the
// device is created (replacing any), ten backup codes are made and
// returned (the only time they are shown), and the session counts as
// 2FA-verified. It needs a recent sign-in.
func (s *TwoFactorService) ValidateSetup(ctx context.Context, u *User, sess *Session, sessionKeyHash, code string) ([]string, error) {
	now := s.now()
	if err := RequireRecentAuth(sess, now); err != nil {
		return nil, err
	}
	if strings.TrimSpace(code) == "" {
		return nil, Invalid("required", "token", "This field is required.")
	}
	sealed, err := s.Store.TOTPSetup(ctx, u.ID, now)
	if errors.Is(err, ErrNotFound) {
		return nil, Invalid("setup_expired", "", "2FA setup session expired. Please start setup again.")
	}
	if err != nil {
		return nil, err
	}
	secret, _, err := s.Secrets.Open(sealed, totpAD(u))
	if err != nil {
		return nil, Invalid("setup_expired", "", "2FA setup session expired. Please start setup again.")
	}
	step, ok := mfa.Match(secret, code, now, 0)
	if !ok {
		return nil, Invalid("token_invalid", "token", "Token is not valid")
	}
	codes := mfa.NewBackupCodes(mfa.BackupCodeCount)
	ctx = WithAuditEvents(ctx, AccountEvent(AuditTOTPEnabled, u)) // audit log
	if err := s.Store.EnableTOTP(ctx, u.ID, s.Secrets.Seal(secret, totpAD(u)), step, hashCodes(secret, codes), now); err != nil {
		return nil, err
	}
	if sessionKeyHash != "" {
		if err := s.Store.MarkSessionTwoFactorVerified(ctx, sessionKeyHash, now); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

func hashCodes(secret []byte, codes []string) []string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = mfa.HashBackupCode(secret, c)
	}
	return out
}

// TwoFactorStatus is what two_factor_status reports. The backup codes
// themselves are never shown again, only how many remain.
type TwoFactorStatus struct {
	HasTOTP              bool
	BackupCodesRemaining int
	// HasPasskeys: the user has a verified passkey.
	HasPasskeys bool
	// PasskeysEnabledFor2FA is the passkeys_enabled_for_2fa setting.
	PasskeysEnabledFor2FA bool
}

// PasskeyFactor reports whether passkeys are the user's second factor.
func (st *TwoFactorStatus) PasskeyFactor() bool { return st.HasPasskeys && st.PasskeysEnabledFor2FA }

// Status reports the user's second factors.
func (s *TwoFactorService) Status(ctx context.Context, u *User) (*TwoFactorStatus, error) {
	d, err := s.device(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	st := &TwoFactorStatus{HasTOTP: d != nil}
	if d != nil {
		if st.BackupCodesRemaining, err = s.Store.CountBackupCodes(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	if s.Passkeys != nil {
		if st.HasPasskeys, err = s.Passkeys.HasVerified(ctx, u.ID); err != nil {
			return nil, err
		}
		if st.PasskeysEnabledFor2FA, err = s.Passkeys.TwoFactorFlag(ctx, u.ID); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func errTwoFactorNotEnabled() *Error {
	return Invalid("2fa_not_enabled", "", "2FA must be enabled first")
}

// RegenerateBackupCodes replaces every backup code with ten new ones and
// returns them. It needs TOTP and a recent sign-in.
func (s *TwoFactorService) RegenerateBackupCodes(ctx context.Context, u *User, sess *Session) ([]string, error) {
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return nil, err
	}
	d, err := s.device(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if d == nil {
		return nil, errTwoFactorNotEnabled()
	}
	secret, err := s.openDevice(ctx, u, d)
	if err != nil {
		return nil, err
	}
	codes := mfa.NewBackupCodes(mfa.BackupCodeCount)
	ctx = WithAuditEvents(ctx, AccountEvent(AuditBackupCodesRenewed, u)) // audit log
	if err := s.Store.ReplaceBackupCodes(ctx, u.ID, hashCodes(secret, codes)); err != nil {
		return nil, err
	}
	return codes, nil
}

// Disable removes the user's TOTP device, backup codes and remembered
// devices. It needs a recent sign-in; wasEnabled tells the caller to send
// the notice.
func (s *TwoFactorService) Disable(ctx context.Context, u *User, sess *Session) (wasEnabled bool, err error) {
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return false, err
	}
	passkeys, err := s.passkeyFactor(ctx, u.ID)
	if err != nil {
		return false, err
	}
	ctx = WithAuditEvents(ctx, AccountEvent(AuditTwoFactorDisabled, u)) // audit log
	hadTOTP, err := s.Store.ResetTwoFactor(ctx, u.ID)
	return hadTOTP || passkeys, err
}

// AdminReset removes the second factors of the user with targetUUID on
// behalf of actor: instance staff, or an admin or owner of an organization
// the target belongs to (an admin cannot reset an owner). Users the actor
// cannot see are not found. It needs a recent sign-in of the actor.
func (s *TwoFactorService) AdminReset(ctx context.Context, actor *User, actorSession *Session, targetUUID string) (*User, error) {
	if err := RequireRecentAuth(actorSession, s.now()); err != nil {
		return nil, err
	}
	target, err := s.Store.UserByUUID(ctx, targetUUID)
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	if err != nil {
		return nil, err
	}
	if !actor.IsStaff {
		allowed, visible, needs2FA, err := s.mayReset(ctx, actor, target)
		if err != nil {
			return nil, err
		}
		if !visible {
			return nil, NotFound()
		}
		if needs2FA {
			return nil, &Error{Kind: KindPermissionDenied, Code: "two_factor_setup_required", Detail: "2FA setup required"}
		}
		if !allowed {
			return nil, &Error{Kind: KindPermissionDenied, Code: "permission_denied",
				Detail: "You must be an admin of an organization this user belongs to, and an owner to reset an owner's 2FA."}
		}
	}
	ctx = WithAuditEvents(ctx, s.adminResetEvent(ctx, actor, target)) // audit log
	if _, err := s.Store.ResetTwoFactor(ctx, target.ID); err != nil {
		return nil, err
	}
	return target, nil
}

// mayReset decides from the organizations actor and target share: visible
// when they share one, allowed when in one of them actor is at least admin
// and at least the target's level and, if that organization enforces 2FA,
// has a second factor. needs2FA reports that only such organizations
// would allow it and actor has none.
func (s *TwoFactorService) mayReset(ctx context.Context, actor, target *User) (allowed, visible, needs2FA bool, err error) {
	mine, err := s.Store.MembershipsOfUser(ctx, actor.ID)
	if err != nil {
		return false, false, false, err
	}
	theirs, err := s.Store.MembershipsOfUser(ctx, target.ID)
	if err != nil {
		return false, false, false, err
	}
	levels := make(map[string]MembershipLevel, len(mine))
	for _, m := range mine {
		levels[m.OrganizationID] = m.Level
	}
	for _, t := range theirs {
		lvl, ok := levels[t.OrganizationID]
		if !ok {
			continue
		}
		visible = true
		if lvl < LevelAdmin || lvl < t.Level || allowed {
			continue
		}
		org, err := s.Store.OrganizationByID(ctx, t.OrganizationID)
		if err != nil {
			return false, false, false, err
		}
		if org.Enforce2FA {
			has, err := s.IsEnabled(ctx, actor.ID)
			if err != nil {
				return false, false, false, err
			}
			if !has {
				needs2FA = true
				continue
			}
		}
		allowed = true
	}
	return allowed, visible, needs2FA && !allowed, nil
}

// OperatorReset removes the second factors of the user with this email,
// for the operator's command line.
func (s *TwoFactorService) OperatorReset(ctx context.Context, email string) (u *User, hadTOTP bool, err error) {
	u, err = s.Store.UserByEmail(ctx, strings.TrimSpace(email))
	if err != nil {
		return nil, false, err
	}
	ctx = WithAuditEvents(ctx, AccountEvent(AuditTwoFactorResetByAdmin, u)) // audit log
	hadTOTP, err = s.Store.ResetTwoFactor(ctx, u.ID)
	return u, hadTOTP, err
}

// PendingLoginError is the cause of a 2fa_required or email_mfa_required
// answer: the password was right and a second step is due. Key goes in the
// pending-login cookie. EmailToken, for the email method, is the link's
// token to mail ("" when the per-user limit held the mail back).
type PendingLoginError struct {
	Key        Secret
	Method     string
	User       *User
	EmailToken Secret
}

func (e *PendingLoginError) Error() string { return "second factor required (" + e.Method + ")" }

// BeginLogin runs after a correct password. It returns nil and verified
// true when a remembered device skips the second step, nil and false when
// the user needs none, and otherwise a *Error (2fa_required or
// email_mfa_required) whose cause is a *PendingLoginError.
func (s *TwoFactorService) BeginLogin(ctx context.Context, u *User, in LoginInput) (verified bool, err error) {
	d, err := s.device(ctx, u.ID)
	if err != nil {
		return false, err
	}
	passkeys, err := s.passkeyFactor(ctx, u.ID)
	if err != nil {
		return false, err
	}
	method := ""
	switch {
	case d != nil || passkeys:
		// PendingTOTP is the 2fa_required step: a TOTP or backup code, or
		// a passkey for users who use them as second factor.
		method = PendingTOTP
	case s.EmailMFA && s.EmailKey != nil && !in.reauth:
		// A re-authentication skips the email step (docs/posthog-compat.md#login).
		method = PendingEmail
	default:
		return false, nil
	}
	ok, err := s.remembered(ctx, u, in.RememberDevices)
	if err != nil || ok {
		return ok, err
	}
	now := s.now()
	key, hash := NewSessionKey()
	if err := s.Store.CreatePendingLogin(ctx, hash, &PendingLogin{UserID: u.ID, Method: method, CreatedAt: now}); err != nil {
		return false, err
	}
	pending := &PendingLoginError{Key: key, Method: method, User: u}
	if method == PendingTOTP {
		return false, &Error{Kind: KindStepRequired, Code: "2fa_required", Detail: "2FA is required.", Err: pending}
	}
	if pending.EmailToken, err = s.issueEmailToken(ctx, u); err != nil {
		return false, err
	}
	return false, &Error{Kind: KindStepRequired, Code: "email_mfa_required", Detail: u.Email, Err: pending}
}

func errNoPendingLogin() *Error {
	return &Error{Kind: KindUnauthenticated, Code: "not_authenticated",
		Detail: "No login is waiting for a second factor. Sign in with your email and password first."}
}

func errLoginExpired() *Error {
	return Invalid("2fa_expired", "", "Login attempt has expired. Re-enter username/password.")
}

// pending finds the unexpired pending login of key for method.
func (s *TwoFactorService) pending(ctx context.Context, key, method string, ttl time.Duration) (*PendingLogin, string, error) {
	if key == "" || len(key) > 128 {
		return nil, "", errNoPendingLogin()
	}
	hash := HashSessionKey(key)
	p, err := s.Store.PendingLogin(ctx, hash)
	if errors.Is(err, ErrNotFound) || (err == nil && p.Method != method) {
		return nil, "", errNoPendingLogin()
	}
	if err != nil {
		return nil, "", err
	}
	if s.now().Sub(p.CreatedAt) > ttl {
		if err := s.Store.DeletePendingLogin(ctx, hash); err != nil {
			return nil, "", err
		}
		return nil, "", errLoginExpired()
	}
	return p, hash, nil
}

// SecondStep is a completed second login step.
type SecondStep struct {
	User *User
	// BackupCodeUsed: the user is told by email.
	BackupCodeUsed bool
}

// CompleteLogin checks a TOTP or backup code against the pending login of
// key (the pending-login cookie). At most 10 attempts a minute count per
// user; PendingLoginCodeLimit wrong codes end the pending login, and the
// user's repeated wrong codes meet a growing delay (Codes); a code's time
// step is used once; a backup code is consumed. On success the pending
// login ends and the caller starts the session.
func (s *TwoFactorService) CompleteLogin(ctx context.Context, key string, code string) (*SecondStep, error) {
	p, hash, err := s.pending(ctx, key, PendingTOTP, TwoFactorLoginTTL)
	if err != nil {
		return nil, err
	}
	if err := s.limit(ctx, "two-factor", p.UserID); err != nil {
		return nil, err
	}
	invalid := Invalid("2fa_invalid", "", "Invalid authentication code")
	u, err := s.Store.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, errNoPendingLogin()
	}
	if err != nil {
		return nil, err
	}
	if !u.IsActive {
		return nil, errNoPendingLogin()
	}
	d, err := s.device(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if d == nil {
		if passkeys, err := s.passkeyFactor(ctx, u.ID); err != nil {
			return nil, err
		} else if passkeys {
			return nil, invalid // passkeys only: no code can match
		}
		return nil, errLoginExpired() // reset meanwhile
	}
	code = mfa.NormalizeCode(code)
	if code == "" {
		return nil, Invalid("required", "token", "This field is required.")
	}
	if !mfa.IsTOTPFormat(code) && !mfa.IsBackupCodeFormat(mfa.NormalizeBackupCode(code)) {
		return nil, invalid // no code of this shape exists: nothing is guessed
	}
	secret, err := s.openDevice(ctx, u, d)
	if err != nil {
		return nil, err
	}
	var attempt CodeAttempt = noCodeAttempt{}
	if s.Codes != nil {
		if attempt, err = s.Codes.Reserve(ctx, u.ID, hash); err != nil {
			if errors.Is(err, ErrPendingLoginEnded) {
				if err := s.Store.DeletePendingLogin(ctx, hash); err != nil {
					return nil, err
				}
			}
			return nil, err
		}
	}
	ok, backup, err := s.checkCode(ctx, u, d, secret, code)
	if err != nil {
		attempt.Release(ctx)
		if errors.Is(err, errCodeSpent) {
			return nil, invalid
		}
		return nil, err
	}
	if !ok {
		s.recordSecondFactorFailure(ctx, u) // audit log
		f, err := attempt.Failed(ctx)
		if err != nil {
			return nil, err
		}
		answer := Invalid("2fa_invalid", "", "Invalid authentication code")
		if f.EndPending {
			if err := s.Store.DeletePendingLogin(ctx, hash); err != nil {
				return nil, err
			}
			answer = ErrPendingCodesUsed()
		}
		if f.Notify {
			answer.Err = errors.Join(answer.Err, &CodeFailuresError{User: u, Count: f.Count})
		}
		return nil, answer
	}
	if err := attempt.Succeeded(ctx); err != nil {
		return nil, err
	}
	if err := s.Store.DeletePendingLogin(ctx, hash); err != nil {
		return nil, err
	}
	return &SecondStep{User: u, BackupCodeUsed: backup}, nil
}

// errCodeSpent is a right TOTP code that a concurrent request used first:
// refused, but not a guess.
var errCodeSpent = errors.New("code used concurrently")

// checkCode compares a TOTP or backup code with the user's device: a TOTP
// code's time step is used once, a backup code is consumed.
func (s *TwoFactorService) checkCode(ctx context.Context, u *User, d *TOTPDevice, secret []byte, code string) (ok, backup bool, err error) {
	switch {
	case mfa.IsTOTPFormat(code):
		step, ok := mfa.Match(secret, code, s.now(), d.LastStep)
		if !ok {
			return false, false, nil
		}
		// Of the same code used concurrently, only one wins.
		ctx := WithAuditEvents(ctx, secondFactorEvent(u, "totp")) // audit log
		if ok, err = s.Store.UseTOTPStep(ctx, u.ID, step); err == nil && !ok {
			err = errCodeSpent
		}
		return ok, false, err
	case mfa.IsBackupCodeFormat(mfa.NormalizeBackupCode(code)):
		ctx := WithAuditEvents(ctx, secondFactorEvent(u, "backup_code"), withActor(AccountEvent(AuditBackupCodeUsed, u), u)) // audit log
		ok, err := s.Store.ConsumeBackupCode(ctx, u.ID, mfa.HashBackupCode(secret, code))
		return ok, ok, err
	default:
		return false, false, nil
	}
}

// MarkSessionVerified records that the new session passed a second factor.
func (s *TwoFactorService) MarkSessionVerified(ctx context.Context, res *LoginResult) error {
	return s.Store.MarkSessionTwoFactorVerified(ctx, HashSessionKey(res.SessionKey.Reveal()), s.now())
}

// --- remembered devices ---

// passwordMark ties a remembered device to the password it was trusted
// under: any password change makes the stored mark stale.
func passwordMark(u *User) string {
	sum := sha256.Sum256([]byte("gatehouse/remember-device\x00" + u.PasswordHash.Reveal()))
	return hex.EncodeToString(sum[:])
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

func (s *TwoFactorService) valid(u *User, d *RememberedDevice, now time.Time) bool {
	return d.UserID == u.ID && now.Before(d.ExpiresAt) &&
		subtle.ConstantTimeCompare([]byte(d.PasswordMark), []byte(passwordMark(u))) == 1
}

// maxRememberCookies bounds the cookies one login tries.
const maxRememberCookies = 8

// remembered reports whether one of the cookies is a valid remembered
// device of u.
func (s *TwoFactorService) remembered(ctx context.Context, u *User, cookies []RememberCookie) (bool, error) {
	now := s.now()
	for i, c := range cookies {
		if i >= maxRememberCookies {
			break
		}
		if c.ID == "" || len(c.ID) > 64 || c.Token == "" || len(c.Token) > 128 {
			continue
		}
		d, err := s.Store.RememberedDevice(ctx, c.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if !s.valid(u, d, now) || subtle.ConstantTimeCompare([]byte(d.TokenHash), []byte(hashToken(c.Token.Reveal()))) != 1 {
			continue
		}
		if err := s.Store.TouchRememberedDevice(ctx, d.ID, now); err != nil {
			bookkeepingFailed(ctx, bookkeepingRememberedDevice, err)
		}
		return true, nil
	}
	return false, nil
}

// Remember trusts the browser the user just completed a second step in for
// RememberDeviceTTL; the caller sets the remember_device_<id> cookie.
func (s *TwoFactorService) Remember(ctx context.Context, u *User, clientIP, userAgent string) (*RememberedDevice, Secret, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("gatehouse: crypto/rand failed: " + err.Error())
	}
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	d := &RememberedDevice{ID: NewUUID(), UserID: u.ID, TokenHash: hashToken(token), PasswordMark: passwordMark(u),
		CreatedAt: now, ExpiresAt: now.Add(RememberDeviceTTL), LastUsedAt: now, ClientIP: clientIP, UserAgent: truncate(userAgent, 512)}
	ctx = WithAuditEvents(ctx, withTarget(AccountEvent(AuditTrustedDeviceAdded, u), "trusted_device", d.ID, BrowserFamily(userAgent))) // audit log
	if err := s.Store.CreateRememberedDevice(ctx, d); err != nil {
		return nil, "", err
	}
	return d, Secret(token), nil
}

// TrustedDevices lists the user's remembered devices that still skip the
// second step, newest first.
func (s *TwoFactorService) TrustedDevices(ctx context.Context, u *User) ([]RememberedDevice, error) {
	all, err := s.Store.RememberedDevices(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []RememberedDevice{}
	for _, d := range all {
		if s.valid(u, &d, now) {
			out = append(out, d)
		}
	}
	return out, nil
}

// ForgetDevice stops trusting one of the user's devices.
func (s *TwoFactorService) ForgetDevice(ctx context.Context, u *User, id string) error {
	ctx = WithAuditEvents(ctx, withTarget(AccountEvent(AuditTrustedDeviceRemoved, u), "trusted_device", id, "")) // audit log
	ok, err := s.Store.DeleteRememberedDevice(ctx, u.ID, id)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Kind: KindNotFound, Code: "not_found", Detail: "Trusted device not found."}
	}
	return nil
}

// ForgetDevices stops trusting all of the user's devices.
func (s *TwoFactorService) ForgetDevices(ctx context.Context, u *User) (int64, error) {
	ctx = WithAuditEvents(ctx, AccountEvent(AuditTrustedDevicesCleared, u)) // audit log
	return s.Store.DeleteRememberedDevices(ctx, u.ID)
}

// --- email MFA ---

// issueEmailToken makes a single-use sign-in link token for u, or returns
// "" when the user's send limit (5 per hour) holds it back. The token is
// "<base36 time>-<nonce>-<HMAC>": the MAC binds it to the user, the email
// and the password hash; the stored hash makes it single use.
func (s *TwoFactorService) issueEmailToken(ctx context.Context, u *User) (Secret, error) {
	if err := s.limit(ctx, "email-mfa", u.ID); err != nil {
		if e, ok := AsError(err); ok && e.Kind == KindThrottled {
			return "", nil
		}
		return "", err
	}
	return s.mintEmailToken(ctx, u)
}

func (s *TwoFactorService) mintEmailToken(ctx context.Context, u *User) (Secret, error) {
	now := s.now()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("gatehouse: crypto/rand failed: " + err.Error())
	}
	ts, nonce := strconv.FormatInt(now.Unix(), 36), hex.EncodeToString(b)
	token := ts + "-" + nonce + "-" + hex.EncodeToString(s.EmailKey.Sign(emailMFAMessage(u, ts, nonce)))
	ctx = WithAuditEvents(ctx, withActor(AccountEvent(AuditEmailMFASent, u), u)) // audit log; never the link
	if err := s.Store.CreateEmailMFAToken(ctx, hashToken(token), u.ID, now.Add(EmailMFATTL)); err != nil {
		return "", err
	}
	return Secret(token), nil
}

func emailMFAMessage(u *User, ts, nonce string) []byte {
	return []byte("email-mfa\x00" + strconv.FormatInt(u.ID, 10) + "\x00" + strings.ToLower(u.Email) + "\x00" +
		u.PasswordHash.Reveal() + "\x00" + ts + "\x00" + nonce)
}

func errInvalidEmailMFA() *Error {
	return Invalid("invalid_token", "token", "This sign-in link is invalid or has expired. Sign in again to get a new one.")
}

// CompleteEmailLogin checks an emailed link's token for the user with this
// email. A token works once, within EmailMFATTL, while the password is the
// one it was issued under; every other link of the user dies with it.
func (s *TwoFactorService) CompleteEmailLogin(ctx context.Context, email, token string) (*User, error) {
	email, token = strings.TrimSpace(email), strings.TrimSpace(token)
	if email == "" {
		return nil, Invalid("required", "email", "This field is required.")
	}
	if token == "" {
		return nil, Invalid("required", "token", "This field is required.")
	}
	parts := strings.Split(token, "-")
	if len(parts) != 3 || len(parts[0]) > 13 || len(parts[1]) != 32 || len(token) > 200 {
		return nil, errInvalidEmailMFA()
	}
	ts, err := strconv.ParseInt(parts[0], 36, 64)
	mac, err2 := hex.DecodeString(parts[2])
	if err != nil || err2 != nil {
		return nil, errInvalidEmailMFA()
	}
	now := s.now()
	if issued := time.Unix(ts, 0); now.Sub(issued) > EmailMFATTL || issued.After(now.Add(time.Minute)) {
		return nil, errInvalidEmailMFA()
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidEmailMFA()
	}
	if err != nil {
		return nil, err
	}
	if !u.IsActive || s.EmailKey == nil || !s.EmailKey.Verify(emailMFAMessage(u, parts[0], parts[1]), mac) {
		return nil, errInvalidEmailMFA()
	}
	used := WithAuditEvents(ctx, withActor(AccountEvent(AuditEmailMFAUsed, u), u)) // audit log; never the link
	ok, err := s.Store.ConsumeEmailMFAToken(used, hashToken(token), u.ID, now)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errInvalidEmailMFA()
	}
	if err := s.Store.DeleteEmailMFATokens(ctx, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

// ResendEmailLogin issues a new link for the email-MFA login pending under
// key. It returns a throttled error past 5 links an hour.
func (s *TwoFactorService) ResendEmailLogin(ctx context.Context, key string) (*User, Secret, error) {
	p, _, err := s.pending(ctx, key, PendingEmail, EmailMFATTL)
	if err != nil {
		if e, ok := AsError(err); ok && e.Code == "not_authenticated" {
			return nil, "", Invalid("no_pending_verification", "", "No pending email MFA verification found")
		}
		return nil, "", err
	}
	u, err := s.Store.UserByID(ctx, p.UserID)
	if err != nil {
		return nil, "", err
	}
	if err := s.limit(ctx, "email-mfa", u.ID); err != nil {
		return nil, "", err
	}
	token, err := s.mintEmailToken(ctx, u)
	if err != nil {
		return nil, "", err
	}
	return u, token, nil
}

// EndPendingLogin forgets the pending login of key, if any.
func (s *TwoFactorService) EndPendingLogin(ctx context.Context, key string) error {
	if key == "" || len(key) > 128 {
		return nil
	}
	return s.Store.DeletePendingLogin(ctx, HashSessionKey(key))
}

// --- organization enforcement ---

// CheckEnforcement applies enforce_2fa to a session-authenticated request:
// that of the user's current organization and that of every organization
// the request works on (targets, resolved by the caller: organizations the
// user belongs to), so that switching to another organization does not
// lift an organization's requirement on its own resources. When any of
// them enforces it, a user without a second factor must set one up, and a
// session that did not pass one must verify.
func (s *TwoFactorService) CheckEnforcement(ctx context.Context, u *User, sessionKeyHash string, targets ...*Organization) error {
	enforced := false
	for _, t := range targets {
		enforced = enforced || (t != nil && t.Enforce2FA)
	}
	if !enforced && u.CurrentOrganizationID != "" {
		org, err := s.Store.OrganizationByID(ctx, u.CurrentOrganizationID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		enforced = err == nil && org.Enforce2FA
	}
	if !enforced {
		return nil
	}
	has, err := s.IsEnabled(ctx, u.ID)
	if err != nil {
		return err
	}
	if !has {
		return &Error{Kind: KindPermissionDenied, Code: "two_factor_setup_required", Detail: "2FA setup required"}
	}
	ok, err := s.Store.SessionTwoFactorVerified(ctx, sessionKeyHash)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Kind: KindPermissionDenied, Code: "two_factor_verification_required", Detail: "2FA verification required"}
	}
	return nil
}
