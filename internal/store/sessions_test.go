package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func newSession(t *testing.T, s *store.Store, userID int64, created time.Time, life time.Duration) (gatehouse.Secret, string, *gatehouse.Session) {
	t.Helper()
	key, hash := gatehouse.NewSessionKey()
	sess := &gatehouse.Session{PublicID: gatehouse.NewUUID(), UserID: userID, CreatedAt: created, ExpiresAt: created.Add(life),
		LastActivityAt: created, ClientIP: "203.0.113.5", UserAgent: "Mozilla/5.0 Firefox/140.0", LoginMethod: "password"}
	if err := s.CreateSession(context.Background(), hash, sess); err != nil {
		t.Fatal(err)
	}
	return key, hash, sess
}

func TestSessions(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, user := newOwner(t, s, "sess@example.com")
		_, _, other := newOwner(t, s, "other@example.com")
		now := time.Now().UTC().Truncate(time.Millisecond)

		key, hash, sess := newSession(t, s, user.ID, now.Add(-time.Hour), 90*24*time.Hour)
		_, hash2, sess2 := newSession(t, s, user.ID, now.Add(-2*time.Hour), 90*24*time.Hour)
		_, _, _ = newSession(t, s, user.ID, now.Add(-48*time.Hour), 24*time.Hour) // already expired
		_, otherHash, otherSess := newSession(t, s, other.ID, now, time.Hour)

		if hash != gatehouse.HashSessionKey(key.Reveal()) {
			t.Fatal("hash does not match key")
		}
		got, err := s.SessionByKeyHash(ctx, hash)
		if err != nil || got.PublicID != sess.PublicID || got.UserID != user.ID || !got.CreatedAt.Equal(sess.CreatedAt) ||
			!got.ExpiresAt.Equal(sess.ExpiresAt) || got.UserAgent != sess.UserAgent || got.LoginMethod != "password" {
			t.Fatalf("round trip: %+v %v", got, err)
		}
		if _, err := s.SessionByKeyHash(ctx, gatehouse.HashSessionKey("not-a-key")); !store.IsNotFound(err) {
			t.Fatalf("unknown key: %v", err)
		}

		if err := s.TouchSession(ctx, hash2, now, "198.51.100.1"); err != nil {
			t.Fatal(err)
		}
		list, err := s.UserSessions(ctx, user.ID, now)
		if err != nil || len(list) != 2 {
			t.Fatalf("live sessions: %+v %v", list, err)
		}
		if list[0].PublicID != sess2.PublicID || list[0].ClientIP != "198.51.100.1" {
			t.Fatalf("most recent first: %+v", list)
		}

		// A user cannot delete another user's session by its public id.
		if ok, err := s.DeleteSessionByPublicID(ctx, user.ID, otherSess.PublicID); ok || err != nil {
			t.Fatalf("deleted another user's session: %v %v", ok, err)
		}
		if _, err := s.SessionByKeyHash(ctx, otherHash); err != nil {
			t.Fatal("other user's session is gone")
		}

		n, err := s.DeleteUserSessions(ctx, user.ID, hash)
		if err != nil || n != 2 {
			t.Fatalf("revoke others: %d %v", n, err)
		}
		if _, err := s.SessionByKeyHash(ctx, hash2); !store.IsNotFound(err) {
			t.Fatal("revoked session still there")
		}
		if _, err := s.SessionByKeyHash(ctx, hash); err != nil {
			t.Fatal("the kept session was revoked")
		}
		if ok, _ := s.DeleteSessionByPublicID(ctx, user.ID, sess.PublicID); !ok {
			t.Fatal("own session not deleted by public id")
		}
		if err := s.DeleteSession(ctx, otherHash); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SessionByKeyHash(ctx, otherHash); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatal("deleted session still there")
		}
	})
}

func TestSessionLifetime(t *testing.T) {
	t.Parallel()
	age := 3600
	if got := gatehouse.SessionLifetime(&gatehouse.Organization{SessionCookieAge: &age}, 90*24*time.Hour); got != time.Hour {
		t.Fatalf("organization override: %v", got)
	}
	if got := gatehouse.SessionLifetime(&gatehouse.Organization{}, 90*24*time.Hour); got != 90*24*time.Hour {
		t.Fatalf("default: %v", got)
	}
}
