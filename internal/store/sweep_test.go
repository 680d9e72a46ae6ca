package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Sweep removes what has expired and nothing else.
func TestSweep(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, _, user := newOwner(t, s, "sweep@example.com")
		now := time.Now().UTC().Truncate(time.Millisecond)
		_, oldSession, _ := newSession(t, s, user.ID, now.Add(-48*time.Hour), time.Hour)
		_, liveSession, _ := newSession(t, s, user.ID, now, time.Hour)
		if _, _, err := s.CounterIncr(ctx, "sweep-old", now.Add(-time.Hour), time.Minute, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.CounterIncr(ctx, "sweep-live", now, time.Hour, false); err != nil {
			t.Fatal(err)
		}
		for key, created := range map[string]time.Time{"old-pending": now.Add(-time.Hour), "live-pending": now} {
			if err := s.CreatePendingLogin(ctx, key, &gatehouse.PendingLogin{UserID: user.ID, Method: gatehouse.PendingTOTP, CreatedAt: created}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.Sweep(ctx, now, gatehouse.TwoFactorLoginTTL)
		if err != nil || n != 3 {
			t.Fatalf("swept %d rows (%v), want 3", n, err)
		}
		if _, err := s.SessionByKeyHash(ctx, oldSession); err == nil {
			t.Fatal("the expired session survived")
		}
		if _, err := s.SessionByKeyHash(ctx, liveSession); err != nil {
			t.Fatalf("the live session went: %v", err)
		}
		if c, _, _ := s.CounterGet(ctx, "sweep-live", now); c != 1 {
			t.Fatal("the live counter went")
		}
		if n, err := s.Sweep(ctx, now, gatehouse.TwoFactorLoginTTL); err != nil || n != 0 {
			t.Fatalf("second sweep: %d %v", n, err)
		}
	})
}
