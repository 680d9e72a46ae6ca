package gatehouse

import (
	"context"
	"net/netip"
	"testing"
)

// auditStub is a store that answers the audit log's reads with nothing
// and counts refusals.
type auditStub struct {
	APIKeyStore
	recorded int
}

func (s *auditStub) AuditEvents(context.Context, AuditFilter) ([]AuditEvent, int, error) {
	return nil, 0, nil
}
func (s *auditStub) RecordAuditRefusal(context.Context, AuditEvent) { s.recorded++ }

// A key's network is looked up once per instance and day: later uses
// from the same network cost a map lookup and record nothing.
func TestNoteKeyUseOncePerNetwork(t *testing.T) {
	st := &auditStub{}
	s := &APIKeyService{Store: st}
	k, u := &PersonalAPIKey{ID: "k1", Label: "ci"}, &User{UUID: "u1", Email: "a@example.com"}
	for _, addr := range []string{"198.51.100.7", "198.51.100.99", "203.0.113.5", "198.51.100.7"} {
		s.noteKeyUse(WithAuditClient(context.Background(), netip.MustParseAddr(addr), "curl/8"), k, u)
	}
	if st.recorded != 2 {
		t.Fatalf("recorded %d new networks, want 2", st.recorded)
	}
}

// BenchmarkNoteKeyUse is what a key-authenticated request from a known
// network pays for the audit log's new-address check.
func BenchmarkNoteKeyUse(b *testing.B) {
	s := &APIKeyService{Store: &auditStub{}}
	k, u := &PersonalAPIKey{ID: "k1"}, &User{UUID: "u1"}
	ctx := WithAuditClient(context.Background(), netip.MustParseAddr("198.51.100.7"), "curl/8")
	s.noteKeyUse(ctx, k, u)
	b.ReportAllocs()
	for b.Loop() {
		s.noteKeyUse(ctx, k, u)
	}
}
