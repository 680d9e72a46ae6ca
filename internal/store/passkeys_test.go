package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var _ gatehouse.PasskeyStore = (*store.Store)(nil)

func newPasskey(t *testing.T, s *store.Store, userID int64, credID string, verified bool) *gatehouse.Passkey {
	t.Helper()
	p := &gatehouse.Passkey{UserID: userID, CredentialID: []byte(credID), Label: "Passkey", PublicKey: []byte{1, 2, 3}, Algorithm: -7,
		Transports: []string{"internal", "hybrid"}, Verified: verified, CreatedAt: time.Now()}
	if err := s.CreatePasskey(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPasskeyStorage(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, u := newOwner(t, s, "pk@example.com")
		_, _, other := newOwner(t, s, "other@example.com")
		p := newPasskey(t, s, u.ID, "cred-1", false)
		if p.ID == 0 {
			t.Fatal("no id")
		}
		// A credential id is unique across users.
		dup := &gatehouse.Passkey{UserID: other.ID, CredentialID: []byte("cred-1"), PublicKey: []byte{1}, Algorithm: -7, CreatedAt: time.Now()}
		if err := s.CreatePasskey(ctx, dup); !errors.Is(err, gatehouse.ErrConflict) {
			t.Fatalf("duplicate credential id: %v", err)
		}
		got, err := s.Passkey(ctx, u.ID, p.ID)
		if err != nil || string(got.CredentialID) != "cred-1" || got.Verified || len(got.Transports) != 2 || got.LastUsedAt != nil || got.Algorithm != -7 {
			t.Fatalf("%+v %v", got, err)
		}
		if _, err := s.Passkey(ctx, other.ID, p.ID); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("another user's passkey found: %v", err)
		}
		if ok, _ := s.RenamePasskey(ctx, other.ID, p.ID, "stolen"); ok {
			t.Fatal("renamed another user's passkey")
		}

		// 2FA needs a verified passkey.
		if on, err := s.EnablePasskeyTwoFactor(ctx, u.ID, time.Now()); err != nil || on {
			t.Fatalf("2FA on without a verified passkey: %v %v", on, err)
		}
		// Counter: forward only; 0/0 allowed; verify marks verified.
		if ok, err := s.UsePasskey(ctx, p.ID, 0, false, true, time.Now()); !ok || err != nil {
			t.Fatalf("0/0: %v %v", ok, err)
		}
		if ok, _ := s.UsePasskey(ctx, p.ID, 5, false, false, time.Now()); !ok {
			t.Fatal("5 after 0 refused")
		}
		for _, c := range []uint32{5, 4, 0} {
			if ok, _ := s.UsePasskey(ctx, p.ID, c, false, false, time.Now()); ok {
				t.Fatalf("counter %d after 5 accepted", c)
			}
		}
		got, _ = s.Passkey(ctx, u.ID, p.ID)
		if !got.Verified || got.SignCount != 5 || got.LastUsedAt == nil {
			t.Fatalf("after use: %+v", got)
		}
		if on, err := s.EnablePasskeyTwoFactor(ctx, u.ID, time.Now()); err != nil || !on {
			t.Fatalf("2FA with a verified passkey: %v %v", on, err)
		}
		if on, _ := s.EnablePasskeyTwoFactor(ctx, u.ID, time.Now()); !on {
			t.Fatal("enabling twice")
		}
		// An admin 2FA reset turns passkey 2FA off; the passkeys stay.
		if _, err := s.ResetTwoFactor(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if on, _ := s.PasskeyTwoFactor(ctx, u.ID); on {
			t.Fatal("passkey 2FA survived a 2FA reset")
		}
		if keys, _ := s.Passkeys(ctx, u.ID); len(keys) != 1 {
			t.Fatalf("passkeys after a 2FA reset: %d", len(keys))
		}
		if on, _ := s.EnablePasskeyTwoFactor(ctx, u.ID, time.Now()); !on {
			t.Fatal("re-enabling")
		}
		// Deleting an unverified passkey keeps 2FA; the last verified one
		// turns it off.
		q := newPasskey(t, s, u.ID, "cred-2", false)
		if del, off, err := s.DeletePasskey(ctx, u.ID, q.ID); !del || off || err != nil {
			t.Fatalf("delete unverified: %v %v %v", del, off, err)
		}
		if del, _, _ := s.DeletePasskey(ctx, other.ID, p.ID); del {
			t.Fatal("deleted another user's passkey")
		}
		if del, off, err := s.DeletePasskey(ctx, u.ID, p.ID); !del || !off || err != nil {
			t.Fatalf("delete last verified: %v %v %v", del, off, err)
		}
		if on, _ := s.PasskeyTwoFactor(ctx, u.ID); on {
			t.Fatal("2FA still on without passkeys")
		}
	})
}
