package gatehouse

import (
	"context"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
)

// Passkeys as the second login step (docs/posthog-compat.md#passkeys-as-second-factor): after a password login
// answered 2fa_required, a user with passkeys_enabled_for_2fa may answer
// with a passkey instead of a code.

// pendingUser is the active user of the 2fa_required login pending under
// key.
func (s *TwoFactorService) pendingUser(ctx context.Context, key string) (*User, string, error) {
	p, hash, err := s.pending(ctx, key, PendingTOTP, TwoFactorLoginTTL)
	if err != nil {
		return nil, "", err
	}
	u, err := s.Store.UserByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) || (err == nil && !u.IsActive) {
		return nil, "", errNoPendingLogin()
	}
	if err != nil {
		return nil, "", err
	}
	return u, hash, nil
}

// PasskeyMethods tells the second step of the login pending under key
// which factors the user has: TOTP, and passkeys used for 2FA.
func (s *TwoFactorService) PasskeyMethods(ctx context.Context, key string) (hasTOTP, hasPasskeys bool, err error) {
	u, _, err := s.pendingUser(ctx, key)
	if err != nil {
		return false, false, err
	}
	if hasTOTP, err = s.HasTOTP(ctx, u.ID); err != nil {
		return false, false, err
	}
	hasPasskeys, err = s.passkeyFactor(ctx, u.ID)
	return hasTOTP, hasPasskeys, err
}

func errNoPasskeyFactor() *Error {
	return Invalid("no_passkeys", "", "Passkeys are not a second factor of this account.")
}

// BeginPasskeyLogin offers request options limited to the pending user's
// verified passkeys; the returned key goes in the challenge cookie.
func (s *TwoFactorService) BeginPasskeyLogin(ctx context.Context, key string) (*protocol.PublicKeyCredentialRequestOptions, Secret, error) {
	u, _, err := s.pendingUser(ctx, key)
	if err != nil {
		return nil, "", err
	}
	on, err := s.passkeyFactor(ctx, u.ID)
	if err != nil {
		return nil, "", err
	}
	if !on {
		return nil, "", errNoPasskeyFactor()
	}
	return s.Passkeys.BeginSecondFactor(ctx, u)
}

// CompletePasskeyLogin checks a passkey assertion (body, the
// PublicKeyCredential JSON) as the second step of the login pending under
// key, against the challenge of challengeKey. Attempts count toward the
// per-user limit like codes; on success the pending login ends.
func (s *TwoFactorService) CompletePasskeyLogin(ctx context.Context, key, challengeKey string, body []byte) (*SecondStep, error) {
	u, hash, err := s.pendingUser(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := s.limit(ctx, "two-factor", u.ID); err != nil {
		return nil, err
	}
	on, err := s.passkeyFactor(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if !on {
		return nil, errNoPasskeyFactor()
	}
	if err := s.Passkeys.FinishSecondFactor(ctx, u, challengeKey, body); err != nil {
		if e, ok := AsError(err); ok && e.Code == PasskeyFailureCode {
			return nil, &Error{Kind: KindInvalid, Code: "2fa_invalid", Detail: e.Detail, Err: e}
		}
		return nil, err
	}
	if err := s.Store.DeletePendingLogin(ctx, hash); err != nil {
		return nil, err
	}
	return &SecondStep{User: u}, nil
}
