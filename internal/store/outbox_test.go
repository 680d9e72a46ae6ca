package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func enqueue(t *testing.T, s *store.Store, m gatehouse.OutboxMessage) int64 {
	t.Helper()
	id, err := s.EnqueueMail(context.Background(), m)
	if err != nil {
		t.Fatalf("EnqueueMail: %v", err)
	}
	return id
}

func mailByID(t *testing.T, s *store.Store, id int64) gatehouse.OutboxMessage {
	t.Helper()
	all, err := s.ListMail(context.Background(), 1000)
	if err != nil {
		t.Fatalf("ListMail: %v", err)
	}
	for _, m := range all {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %d not listed", id)
	return gatehouse.OutboxMessage{}
}

func TestOutboxRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		id := enqueue(t, s, gatehouse.OutboxMessage{To: "ada@example.com", Subject: "Réinitialiser", Text: "link", HTML: "<p>link</p>", CreatedAt: now})
		got := mailByID(t, s, id)
		want := gatehouse.OutboxMessage{ID: id, To: "ada@example.com", Subject: "Réinitialiser", Text: "link", HTML: "<p>link</p>",
			Status: gatehouse.OutboxPending, NextAttemptAt: now, CreatedAt: now}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
		sentAt := now.Add(time.Second)
		if err := s.MarkMailSent(ctx, id, sentAt); err != nil {
			t.Fatal(err)
		}
		got = mailByID(t, s, id)
		if got.Status != gatehouse.OutboxSent || got.SentAt == nil || !got.SentAt.Equal(sentAt) {
			t.Fatalf("after MarkMailSent: %+v", got)
		}
		if err := s.MarkMailSent(ctx, id+1000, sentAt); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("MarkMailSent unknown id: %v", err)
		}
		if err := s.MarkMailFailed(ctx, id+1000, 1, now, "x", false); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("MarkMailFailed unknown id: %v", err)
		}
	})
}

func TestClaimMail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		due1 := enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "1", CreatedAt: now.Add(-time.Minute)})
		later := enqueue(t, s, gatehouse.OutboxMessage{To: "b@example.com", Subject: "2", NextAttemptAt: now.Add(time.Hour)})
		due2 := enqueue(t, s, gatehouse.OutboxMessage{To: "c@example.com", Subject: "3", CreatedAt: now})
		sent := enqueue(t, s, gatehouse.OutboxMessage{To: "d@example.com", Subject: "4", CreatedAt: now})
		if err := s.MarkMailSent(ctx, sent, now); err != nil {
			t.Fatal(err)
		}

		steps := []struct {
			name  string
			at    time.Time
			n     int
			want  []int64
			after func()
		}{
			{name: "limit", at: now, n: 1, want: []int64{due1}},
			{name: "leased ones are skipped", at: now, n: 10, want: []int64{due2}},
			{name: "all leased", at: now.Add(time.Minute), n: 10, want: nil},
			{name: "lease expired", at: now.Add(6 * time.Minute), n: 10, want: []int64{due1, due2},
				after: func() {
					if err := s.MarkMailFailed(ctx, due1, 1, now.Add(10*time.Minute), "boom", false); err != nil {
						t.Fatal(err)
					}
					if err := s.MarkMailFailed(ctx, due2, 10, now, "boom", true); err != nil {
						t.Fatal(err)
					}
				}},
			{name: "failed one waits, dead one never returns", at: now.Add(7 * time.Minute), n: 10, want: nil},
			{name: "retry and later one due", at: now.Add(2 * time.Hour), n: 10, want: []int64{due1, later}},
		}
		for _, step := range steps {
			got, err := s.ClaimMail(ctx, step.at, step.n, 5*time.Minute)
			if err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			var ids []int64
			for _, m := range got {
				ids = append(ids, m.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(step.want) {
				t.Fatalf("%s: claimed %v, want %v", step.name, ids, step.want)
			}
			if step.after != nil {
				step.after()
			}
		}
		m := mailByID(t, s, due1)
		if m.Status != gatehouse.OutboxPending || m.Attempts != 1 || m.LastError != "boom" {
			t.Fatalf("failed message: %+v", m)
		}
		if m := mailByID(t, s, due2); m.Status != gatehouse.OutboxFailed || m.Attempts != 10 {
			t.Fatalf("dead message: %+v", m)
		}
	})
}

func TestClaimMailConcurrently(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const total = 60
		for i := range total {
			enqueue(t, s, gatehouse.OutboxMessage{To: fmt.Sprintf("u%d@example.com", i), Subject: "s"})
		}
		var (
			mu      sync.Mutex
			claimed = map[int64]int{}
			wg      sync.WaitGroup
		)
		now := time.Now().Add(time.Second)
		for range 6 {
			wg.Go(func() {
				for {
					got, err := s.ClaimMail(ctx, now, 4, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, m := range got {
						claimed[m.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(claimed) != total {
			t.Fatalf("claimed %d distinct messages, want %d", len(claimed), total)
		}
		for id, n := range claimed {
			if n != 1 {
				t.Fatalf("message %d claimed %d times", id, n)
			}
		}
	})
}

// A sent or given-up email keeps its metadata but not its body (which may
// hold a live reset, invite, verification or sign-in link); a message that
// will be retried keeps its body.
func TestOutboxBodyBlankedOnceSentOrGivenUp(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		msg := gatehouse.OutboxMessage{To: "ada@example.com", Subject: "Reset", Text: "https://x/reset/secret", HTML: "<a>secret</a>", CreatedAt: now}
		sent, retried, dead := enqueue(t, s, msg), enqueue(t, s, msg), enqueue(t, s, msg)
		if err := s.MarkMailSent(ctx, sent, now); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkMailFailed(ctx, retried, 1, now.Add(time.Minute), "421 busy", false); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkMailFailed(ctx, dead, 10, now.Add(time.Minute), "550 no such user", true); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			id       int64
			status   string
			keepBody bool
			lastErr  string
		}{
			{sent, gatehouse.OutboxSent, false, ""},
			{retried, gatehouse.OutboxPending, true, "421 busy"},
			{dead, gatehouse.OutboxFailed, false, "550 no such user"},
		} {
			got := mailByID(t, s, tc.id)
			if got.Status != tc.status || got.To != msg.To || got.Subject != msg.Subject || got.LastError != tc.lastErr || !got.CreatedAt.Equal(now) {
				t.Fatalf("message %d metadata: %+v", tc.id, got)
			}
			if hasBody := got.Text != "" || got.HTML != ""; hasBody != tc.keepBody {
				t.Fatalf("message %d (%s): body kept = %v, want %v", tc.id, tc.status, hasBody, tc.keepBody)
			}
		}
	})
}

// The sweep deletes outbox messages queued more than OutboxRetention ago,
// whatever their state, and keeps younger ones.
func TestSweepDeletesOldMail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		old := now.Add(-store.OutboxRetention - time.Minute)
		oldSent := enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "s", Text: "t", CreatedAt: old})
		if err := s.MarkMailSent(ctx, oldSent, old.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		oldDead := enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "s", Text: "t", CreatedAt: old})
		if err := s.MarkMailFailed(ctx, oldDead, 10, old, "550", true); err != nil {
			t.Fatal(err)
		}
		enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "s", Text: "t", CreatedAt: old}) // pending, never sent
		young := enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "s", Text: "t", CreatedAt: now.Add(-store.OutboxRetention + time.Hour)})
		if err := s.MarkMailSent(ctx, young, now); err != nil {
			t.Fatal(err)
		}
		n, err := s.Sweep(ctx, now, gatehouse.TwoFactorLoginTTL)
		if err != nil || n != 3 {
			t.Fatalf("swept %d rows (%v), want 3", n, err)
		}
		all, err := s.ListMail(ctx, 100)
		if err != nil || len(all) != 1 || all[0].ID != young {
			t.Fatalf("left %+v (%v), want only message %d", all, err, young)
		}
	})
}
