package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

func TestOutboxRoundTrip(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		id := storetest.Enqueue(t, s, gatehouse.OutboxMessage{To: "ada@example.com", Subject: "Réinitialiser", Text: "link", HTML: "<p>link</p>", CreatedAt: now})
		got := storetest.MailByID(t, s, id)
		want := gatehouse.OutboxMessage{ID: id, To: "ada@example.com", Subject: "Réinitialiser", Text: "link", HTML: "<p>link</p>",
			Status: gatehouse.OutboxPending, NextAttemptAt: now, CreatedAt: now}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
		sentAt := now.Add(time.Second)
		if err := s.MarkMailSent(ctx, id, sentAt); err != nil {
			t.Fatal(err)
		}
		got = storetest.MailByID(t, s, id)
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
func TestOutboxBodyBlankedOnceSentOrGivenUp(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		msg := gatehouse.OutboxMessage{To: "ada@example.com", Subject: "Reset", Text: "https://x/reset/secret", HTML: "<a>secret</a>", CreatedAt: now}
		sent, retried, dead := storetest.Enqueue(t, s, msg), storetest.Enqueue(t, s, msg), storetest.Enqueue(t, s, msg)
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
			got := storetest.MailByID(t, s, tc.id)
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
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		old := now.Add(-store.OutboxRetention - time.Minute)
		oldSent := storetest.Enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "s", Text: "t", CreatedAt: old})
		if err := s.MarkMailSent(ctx, oldSent, old.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		oldDead := storetest.Enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "s", Text: "t", CreatedAt: old})
		if err := s.MarkMailFailed(ctx, oldDead, 10, old, "550", true); err != nil {
			t.Fatal(err)
		}
		storetest.Enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "s", Text: "t", CreatedAt: old}) // pending, never sent
		young := storetest.Enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "s", Text: "t", CreatedAt: now.Add(-store.OutboxRetention + time.Hour)})
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
