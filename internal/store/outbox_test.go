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
