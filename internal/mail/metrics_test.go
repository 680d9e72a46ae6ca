package mail

import (
	"context"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// okSender accepts every message.
type okSender struct{}

func (okSender) Send(context.Context, string, Message) error { return nil }

// TestDeliveriesAreCounted: a sent email moves gatehouse_emails_sent_total,
// a failed one gatehouse_emails_failed_total, and the last failed attempt
// is counted as given up.
func TestDeliveriesAreCounted(t *testing.T) {
	const (
		sent    = "gatehouse_emails_sent_total"
		retried = `gatehouse_emails_failed_total{gave_up="false"}`
		gaveUp  = `gatehouse_emails_failed_total{gave_up="true"}`
	)
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		before := metrics.Default.Snapshot()
		deliverOnce(t, s, okSender{}, newClock())
		after := metrics.Default.Snapshot()
		if after[sent] != before[sent]+1 || after[retried] != before[retried] {
			t.Fatalf("after one delivery: sent %v→%v, failed %v→%v", before[sent], after[sent], before[retried], after[retried])
		}
	})
	s := storetest.Open(t, store.SQLite)
	c := newClock()
	before := metrics.Default.Snapshot()
	m := deliverOnce(t, s, &failingSender{}, c)
	for range 2 * MaxAttempts {
		c.Advance(MaxRetry)
		m.deliverDue(context.Background())
	}
	after := metrics.Default.Snapshot()
	if after[retried] != before[retried]+MaxAttempts-1 || after[gaveUp] != before[gaveUp]+1 || after[sent] != before[sent] {
		t.Fatalf("failures: retried %v→%v, gave up %v→%v, sent %v→%v", before[retried], after[retried], before[gaveUp], after[gaveUp], before[sent], after[sent])
	}
}
