package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// plantAccess plants a session, two personal API keys, a trusted device, a
// passkey and an authenticator for user.
func plantAccess(t *testing.T, s *store.Store, user *gatehouse.User) string {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	_, session, _ := newSession(t, s, user.ID, now, time.Hour)
	for _, label := range []string{"zeta", "alpha"} {
		k := &gatehouse.PersonalAPIKey{ID: gatehouse.NewUUID(), UserID: user.ID, Label: label, MaskValue: "phx_...",
			SecureValue: "sha256$" + user.UUID + label, Scopes: []string{"*"}, CreatedAt: now}
		if err := s.CreatePersonalAPIKey(ctx, k, gatehouse.MaxPersonalAPIKeys); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateRememberedDevice(ctx, &gatehouse.RememberedDevice{ID: gatehouse.NewUUID(), UserID: user.ID, TokenHash: "t" + user.UUID,
		PasswordMark: "m", CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePasskey(ctx, &gatehouse.Passkey{UserID: user.ID, CredentialID: []byte("cred-" + user.UUID), Label: "pk",
		PublicKey: []byte{1}, Algorithm: -7, Verified: true, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnableTOTP(ctx, user.ID, []byte("sealed"), 0, []string{"h1"}, now); err != nil {
		t.Fatal(err)
	}
	return session
}

// accessLeft describes what remains of what plantAccess planted.
func accessLeft(t *testing.T, s *store.Store, user *gatehouse.User, session string) string {
	t.Helper()
	ctx := context.Background()
	_, sessErr := s.SessionByKeyHash(ctx, session)
	keys, err := s.PersonalAPIKeysOfUser(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := s.RememberedDevices(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	pks, err := s.Passkeys(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	_, totpErr := s.TOTPDevice(ctx, user.ID)
	codes, err := s.CountBackupCodes(ctx, user.ID)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("session=%v keys=%d devices=%d passkeys=%d totp=%v codes=%d",
		sessErr == nil, len(keys), len(devs), len(pks), !errors.Is(totpErr, gatehouse.ErrNotFound), codes)
}

// A completed password reset revokes the user's sessions, personal API
// keys and trusted devices (and, for an email awaiting verification, its
// passkeys and second factors), returns the key labels, and touches no
// other user.
func TestCompletePasswordResetRevokesAccess(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, other := newOwner(t, s, "other@example.com")
		otherSession := plantAccess(t, s, other)
		for _, tc := range []struct {
			name     string
			verified *bool
			left     string
		}{
			{"legacy unset", nil, "session=false keys=0 devices=0 passkeys=1 totp=true codes=1"},
			{"verified", new(true), "session=false keys=0 devices=0 passkeys=1 totp=true codes=1"},
			{"awaiting verification", new(false), "session=false keys=0 devices=0 passkeys=0 totp=false codes=0"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, _, user := newOwner(t, s, gatehouse.NewUUID()+"@example.com")
				if tc.verified != nil {
					setVerified(t, s, user, *tc.verified)
				}
				session := plantAccess(t, s, user)
				at := time.Now().UTC().Truncate(time.Millisecond)
				if err := s.SetPasswordResetRequestedAt(ctx, user.ID, at); err != nil {
					t.Fatal(err)
				}
				revoked, ok, err := s.CompletePasswordReset(ctx, user.ID, at, user.PasswordHash, "argon2id$new")
				if err != nil || !ok || fmt.Sprint(revoked) != "[alpha zeta]" {
					t.Fatalf("CompletePasswordReset: %v %v %v", revoked, ok, err)
				}
				if got := accessLeft(t, s, user, session); got != tc.left {
					t.Fatalf("left %s, want %s", got, tc.left)
				}
				// The link was mailed to the address: using it proves it.
				if u, err := s.UserByID(ctx, user.ID); err != nil || u.IsEmailVerified == nil || !*u.IsEmailVerified {
					t.Fatalf("email not verified by a completed reset: %+v %v", u, err)
				}
				// A stale completion changes nothing and revokes nothing.
				if revoked, ok, err := s.CompletePasswordReset(ctx, user.ID, at, user.PasswordHash, "argon2id$again"); err != nil || ok || revoked != nil {
					t.Fatalf("second completion: %v %v %v", revoked, ok, err)
				}
			})
		}
		if got := accessLeft(t, s, other, otherSession); got != "session=true keys=2 devices=1 passkeys=1 totp=true codes=1" {
			t.Fatalf("another user lost access: %s", got)
		}
	})
}

// An SSO takeover of an account awaiting verification revokes everything
// its holder enrolled and returns the key labels.
func TestClaimForSSORevokesAccess(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		_, _, user := newOwner(t, s, "claimed@example.com")
		setVerified(t, s, user, false)
		session := plantAccess(t, s, user)
		revoked, err := s.ClaimForSSO(context.Background(), user.ID)
		if err != nil || fmt.Sprint(revoked) != "[alpha zeta]" {
			t.Fatalf("ClaimForSSO: %v %v", revoked, err)
		}
		if got := accessLeft(t, s, user, session); got != "session=false keys=0 devices=0 passkeys=0 totp=false codes=0" {
			t.Fatalf("left %s", got)
		}
		u, err := s.UserByID(context.Background(), user.ID)
		if err != nil || u.PasswordHash != "" || u.IsEmailVerified == nil || !*u.IsEmailVerified {
			t.Fatalf("claimed user: %+v %v", u, err)
		}
	})
}

func setVerified(t *testing.T, s *store.Store, user *gatehouse.User, verified bool) {
	t.Helper()
	q := `UPDATE users SET is_email_verified = ? WHERE id = ?`
	if s.Engine() == store.Postgres {
		q = `UPDATE users SET is_email_verified = $1 WHERE id = $2`
	}
	if _, err := s.DB().ExecContext(context.Background(), q, verified, user.ID); err != nil {
		t.Fatal(err)
	}
}
