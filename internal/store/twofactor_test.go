package store_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var _ gatehouse.TwoFactorStore = (*store.Store)(nil)

const (
	oldSecretKey = "old-secret-key-0123456789abcdef0123456789"
	newSecretKey = "new-secret-key-0123456789abcdef0123456789"
)

// enableTOTP sets up TOTP for u through the service and returns the raw
// secret and the backup codes.
func enableTOTP(t *testing.T, tf *gatehouse.TwoFactorService, u *gatehouse.User, now time.Time) ([]byte, []string) {
	t.Helper()
	ctx := context.Background()
	setup, err := tf.StartSetup(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := mfa.DecodeSecret(setup.Secret.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	sess := &gatehouse.Session{CreatedAt: now}
	codes, err := tf.ValidateSetup(ctx, u, sess, "", mfa.Code(secret, mfa.Step(now)))
	if err != nil {
		t.Fatal(err)
	}
	return secret, codes
}

func TestTOTPSecretEncryptedAndSurvivesKeyRotation(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, u := newOwner(t, s, "totp@example.com")
		now := time.Now()
		old := &gatehouse.TwoFactorService{Store: s, Secrets: secretkey.NewKeyring(oldSecretKey).For(secretkey.PurposeTOTPSecret), Now: func() time.Time { return now }}
		secret, codes := enableTOTP(t, old, u, now)

		d, err := s.TOTPDevice(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(d.Sealed, secret) || bytes.Contains(d.Sealed, []byte(mfa.EncodeSecret(secret))) {
			t.Fatal("TOTP secret stored in the clear")
		}
		var raw string
		s.DB().QueryRow(`SELECT code_hash FROM backup_codes LIMIT 1`).Scan(&raw)
		for _, c := range codes {
			if strings.Contains(raw, c) {
				t.Fatal("backup code stored in the clear")
			}
		}

		// Rotate: the new key is current, the old one a fallback.
		rotated := &gatehouse.TwoFactorService{Store: s, Secrets: secretkey.NewKeyring(newSecretKey, oldSecretKey).For(secretkey.PurposeTOTPSecret), Now: old.Now}
		// A backup code still works (its hash is keyed by the secret), and
		// using the device re-seals the secret under the new key.
		pendingKey := beginPending(t, s, u, now)
		if step, err := rotated.CompleteLogin(ctx, pendingKey, codes[0]); err != nil || !step.BackupCodeUsed {
			t.Fatalf("backup code after rotation: %v", err)
		}
		// Now the old key can go: the secret opens with the new key alone.
		newOnly := &gatehouse.TwoFactorService{Store: s, Secrets: secretkey.NewKeyring(newSecretKey).For(secretkey.PurposeTOTPSecret), Now: func() time.Time { return now.Add(time.Minute) }}
		pendingKey = beginPending(t, s, u, now)
		if _, err := newOnly.CompleteLogin(ctx, pendingKey, mfa.Code(secret, mfa.Step(now.Add(time.Minute)))); err != nil {
			t.Fatalf("TOTP with the new key only after re-sealing: %v", err)
		}
		// A ring that never knew the old key cannot open an unrotated secret.
		_, _, u2 := newOwner(t, s, "totp2@example.com")
		enableTOTP(t, old, u2, now)
		stranger := &gatehouse.TwoFactorService{Store: s, Secrets: secretkey.NewKeyring(newSecretKey).For(secretkey.PurposeTOTPSecret), Now: old.Now}
		if _, err := stranger.RegenerateBackupCodes(ctx, u2, &gatehouse.Session{CreatedAt: now}); err == nil {
			t.Fatal("a secret sealed under a removed key opened")
		}
	})
}

// beginPending stores a pending TOTP login for u and returns its key.
func beginPending(t *testing.T, s *store.Store, u *gatehouse.User, now time.Time) string {
	t.Helper()
	key, hash := gatehouse.NewSessionKey()
	if err := s.CreatePendingLogin(context.Background(), hash, &gatehouse.PendingLogin{UserID: u.ID, Method: gatehouse.PendingTOTP, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return key.Reveal()
}

func TestResetTwoFactorClearsEverything(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, u := newOwner(t, s, "reset2fa@example.com")
		_, _, other := newOwner(t, s, "keep2fa@example.com")
		now := time.Now()
		for _, id := range []int64{u.ID, other.ID} {
			if err := s.EnableTOTP(ctx, id, []byte("sealed"), 1, []string{"h"}, now); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateRememberedDevice(ctx, &gatehouse.RememberedDevice{ID: gatehouse.NewUUID(), UserID: id, TokenHash: "t", PasswordMark: "m",
				CreatedAt: now, ExpiresAt: now.Add(time.Hour), LastUsedAt: now}); err != nil {
				t.Fatal(err)
			}
			_, hash := gatehouse.NewSessionKey()
			s.CreatePendingLogin(ctx, hash, &gatehouse.PendingLogin{UserID: id, Method: "totp", CreatedAt: now})
			s.CreateEmailMFAToken(ctx, gatehouse.NewUUID(), id, now.Add(time.Hour))
		}
		had, err := s.ResetTwoFactor(ctx, u.ID)
		if err != nil || !had {
			t.Fatalf("reset: %v %v", had, err)
		}
		if had, _ := s.ResetTwoFactor(ctx, u.ID); had {
			t.Fatal("second reset found a device")
		}
		for _, table := range []string{"totp_devices", "backup_codes", "remembered_devices", "pending_logins", "email_mfa_tokens"} {
			var mine, theirs int
			s.DB().QueryRow(`SELECT COUNT(*) FROM ` + table + ` WHERE user_id = ` + itoa(u.ID)).Scan(&mine)
			s.DB().QueryRow(`SELECT COUNT(*) FROM ` + table + ` WHERE user_id = ` + itoa(other.ID)).Scan(&theirs)
			if mine != 0 || theirs != 1 {
				t.Errorf("%s: %d rows left for the reset user, %d for the other", table, mine, theirs)
			}
		}
	})
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
