package gatehouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EmailVerifyTTL is how long an email-verification link works.
const EmailVerifyTTL = 24 * time.Hour

// VerifyStore is what email verification needs from storage.
type VerifyStore interface {
	UserByUUID(ctx context.Context, uuid string) (*User, error)
	SetEmailVerified(ctx context.Context, userID int64) (changed bool, err error)
}

// EmailVerifier makes and checks email-verification tokens. A token is
// "<base36 unix seconds>-<hex HMAC>" over the user, the email and the
// verification state, so it dies when the email changes or is verified.
type EmailVerifier struct {
	Store VerifyStore
	Key   Signer
	Now   func() time.Time
}

func (v *EmailVerifier) now() time.Time {
	if v.Now != nil {
		return v.Now().UTC()
	}
	return time.Now().UTC()
}

func (v *EmailVerifier) mac(u *User, ts int64) []byte { return v.Key.Sign(v.macMessage(u, ts)) }

// Token returns a fresh verification token for u.
func (v *EmailVerifier) Token(u *User) string {
	ts := v.now().Unix()
	return strconv.FormatInt(ts, 36) + "-" + hex.EncodeToString(v.mac(u, ts))
}

func errInvalidVerifyToken() *Error {
	return Invalid("invalid_token", "token", "This verification token is invalid or has expired.")
}

// Verify checks a token and marks the user's email verified. It returns
// the user, now verified.
func (v *EmailVerifier) Verify(ctx context.Context, userUUID, token string) (*User, error) {
	if token == "" {
		return nil, Invalid("required", "token", "This field is required.")
	}
	u, err := v.Store.UserByUUID(ctx, userUUID)
	if errors.Is(err, ErrNotFound) {
		return nil, errInvalidVerifyToken()
	}
	if err != nil {
		return nil, err
	}
	tsText, macHex, ok := strings.Cut(token, "-")
	ts, err1 := strconv.ParseInt(tsText, 36, 64)
	mac, err2 := hex.DecodeString(macHex)
	if !ok || err1 != nil || err2 != nil || len(tsText) > 13 || !u.IsActive {
		return nil, errInvalidVerifyToken()
	}
	issued := time.Unix(ts, 0)
	if now := v.now(); now.Sub(issued) > EmailVerifyTTL || issued.After(now.Add(time.Minute)) {
		return nil, errInvalidVerifyToken()
	}
	if !v.Key.Verify(v.macMessage(u, ts), mac) {
		return nil, errInvalidVerifyToken()
	}
	changed, err := v.Store.SetEmailVerified(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if !changed {
		// Verified meanwhile (a concurrent use of the same link): the
		// token was bound to the unverified state, so it is spent.
		return nil, errInvalidVerifyToken()
	}
	t := true
	u.IsEmailVerified = &t
	return u, nil
}

func (v *EmailVerifier) macMessage(u *User, ts int64) []byte {
	state := "unset"
	if u.IsEmailVerified != nil {
		state = strconv.FormatBool(*u.IsEmailVerified)
	}
	return []byte(fmt.Sprintf("email-verify\x00%d\x00%s\x00%s\x00%d", u.ID, strings.ToLower(u.Email), state, ts))
}
