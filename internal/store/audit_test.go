package store_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

func auditEvent(typ gatehouse.AuditEventType, target string) gatehouse.AuditEvent {
	return gatehouse.AuditEvent{Type: typ, Target: gatehouse.AuditTarget{Type: "test", ID: target}}
}

func auditCount(t *testing.T, s *store.Store, f gatehouse.AuditFilter) int {
	t.Helper()
	_, n, err := s.AuditEvents(context.Background(), f)
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	return n
}

func mustVerify(t *testing.T, s *store.Store) *store.AuditVerification {
	t.Helper()
	v, err := s.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	if v.Problem != nil {
		t.Fatalf("the untouched chain fails verification: %s", v.Problem)
	}
	return v
}

// Events attached to a context commit with the write made under it, in
// a transaction (inTx) or a single statement, and vanish with a write that
// fails or changes nothing.
func TestAuditEventsCommitWithTheChange(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, user := newOwner(t, s, "audit-tx@example.com")

		// A single statement that changes a row.
		actx := gatehouse.WithAuditEvents(ctx, auditEvent("test.names", "names"))
		if err := s.UpdateUserNames(actx, user.ID, "Ada", "L"); err != nil {
			t.Fatal(err)
		}
		// The events were taken: a second write with the same context
		// does not record them again.
		if err := s.UpdateUserNames(actx, user.ID, "Ada", "M"); err != nil {
			t.Fatal(err)
		}
		if n := auditCount(t, s, gatehouse.AuditFilter{TargetID: "names"}); n != 1 {
			t.Fatalf("%d events for one change, want 1", n)
		}

		// A statement that changes nothing records nothing.
		actx = gatehouse.WithAuditEvents(ctx, auditEvent("test.delete-nothing", "nothing"))
		if ok, err := s.DeleteInvite(actx, org.ID, gatehouse.NewUUID()); err != nil || ok {
			t.Fatalf("DeleteInvite of nothing = %v, %v", ok, err)
		}
		if n := auditCount(t, s, gatehouse.AuditFilter{TargetID: "nothing"}); n != 0 {
			t.Fatalf("a write that changed nothing recorded %d events", n)
		}

		// A transaction that fails records nothing; its events stay
		// attached, and the retry that commits records them once.
		key := &gatehouse.PersonalAPIKey{ID: gatehouse.NewUUID(), UserID: user.ID, Label: "k", SecureValue: "sha256$" + gatehouse.NewUUID(),
			MaskValue: "phx_...abcd", CreatedAt: time.Now()}
		actx = gatehouse.WithAuditEvents(ctx, auditEvent(gatehouse.AuditPersonalKeyCreated, key.ID))
		if err := s.CreatePersonalAPIKey(actx, key, 0); err == nil {
			t.Fatal("a key over the limit of 0 was created")
		}
		if n := auditCount(t, s, gatehouse.AuditFilter{TargetID: key.ID}); n != 0 {
			t.Fatalf("a refused transaction recorded %d events", n)
		}
		if err := s.CreatePersonalAPIKey(actx, key, 10); err != nil {
			t.Fatal(err)
		}
		if n := auditCount(t, s, gatehouse.AuditFilter{TargetID: key.ID}); n != 1 {
			t.Fatalf("the committed change recorded %d events, want 1", n)
		}
		v := mustVerify(t, s)
		if v.Events != 2 || v.Last != 2 {
			t.Fatalf("verified %d events up to %d, want 2 and 2", v.Events, v.Last)
		}
	})
}

// Concurrent writers (as several instances would be) build one chain
// with no gaps or forks.
func TestAuditChainUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "builds one audit chain from many concurrent writers on both engines and verifies it")
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		const writers, each = 8, 10
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					errs <- s.RecordAuditEvents(context.Background(), auditEvent("test.concurrent", fmt.Sprintf("%d-%d", w, i)))
				}
			}()
		}
		// Verification while others append reports nothing.
		done := make(chan struct{})
		verified := make(chan error, 1)
		go func() {
			for {
				v, err := s.VerifyAudit(context.Background())
				if err == nil && v.Problem != nil {
					err = fmt.Errorf("verification during writes reported %s", v.Problem)
				}
				select {
				case <-done:
					verified <- err
					return
				default:
				}
				if err != nil {
					<-done
					verified <- err
					return
				}
			}
		}()
		wg.Wait()
		close(done)
		if err := <-verified; err != nil {
			t.Fatal(err)
		}
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if v := mustVerify(t, s); v.Events != writers*each || v.Last != writers*each {
			t.Fatalf("verified %d events up to %d, want %d", v.Events, v.Last, writers*each)
		}
	})
}

// Refusal events are queued without waiting and written in batches.
func TestAuditRefusalsAreBatched(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		for i := range 300 {
			s.RecordAuditRefusal(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditLoginFailed, Outcome: gatehouse.AuditFailure,
				Reason: "invalid_credentials", Target: gatehouse.AuditTarget{Type: "user", ID: fmt.Sprint(i)}})
		}
		if err := s.FlushAudit(ctx); err != nil {
			t.Fatal(err)
		}
		got := auditCount(t, s, gatehouse.AuditFilter{Type: gatehouse.AuditLoginFailed}) + int(s.AuditDropped())
		if got != 300 {
			t.Fatalf("%d refusals written or counted as dropped, want 300", got)
		}
		mustVerify(t, s)
		// Closing writes what is queued, twice is harmless, and a refusal
		// after it is dropped, not a panic.
		s.RecordAuditRefusal(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditLoginFailed})
		s.Close()
		s.Close()
		s.RecordAuditRefusal(ctx, gatehouse.AuditEvent{Type: gatehouse.AuditLoginFailed})
	})
}

// Editing, deleting or inserting a row directly in the database is found,
// and the report names the event.
func TestAuditVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "tampers with the audit chain seven ways and verifies it after each, both engines")
	cases := []struct {
		name     string
		tamper   func(db execer, engine store.Engine) error
		wantSeq  int64
		wantKind string
	}{
		{"edit body", func(db execer, _ store.Engine) error {
			_, err := db.Exec(`UPDATE audit_log SET body = REPLACE(body, '"outcome":"success"', '"outcome":"failure"') WHERE seq = 3`)
			return err
		}, 3, "altered"},
		{"edit a filter column", func(db execer, _ store.Engine) error {
			_, err := db.Exec(`UPDATE audit_log SET actor_uuid = 'someone-else' WHERE seq = 2`)
			return err
		}, 2, "altered"},
		{"delete a middle event", func(db execer, _ store.Engine) error {
			_, err := db.Exec(`DELETE FROM audit_log WHERE seq = 4`)
			return err
		}, 4, "removed"},
		{"delete the last event", func(db execer, _ store.Engine) error {
			_, err := db.Exec(`DELETE FROM audit_log WHERE seq = 5`)
			return err
		}, 5, "removed"},
		{"delete the first event", func(db execer, _ store.Engine) error {
			_, err := db.Exec(`DELETE FROM audit_log WHERE seq = 1`)
			return err
		}, 1, "removed"},
		{"insert after the head", func(db execer, _ store.Engine) error {
			_, err := db.Exec(`INSERT INTO audit_log (seq, id, created_at, event_type, body, mac)
				SELECT 6, 'forged', created_at, event_type, REPLACE(body, '"seq":5', '"seq":6'), mac FROM audit_log WHERE seq = 5`)
			return err
		}, 6, "inserted"},
		{"replace an event and move the head", func(db execer, _ store.Engine) error {
			if _, err := db.Exec(`DELETE FROM audit_log WHERE seq = 5`); err != nil {
				return err
			}
			_, err := db.Exec(`INSERT INTO audit_log (seq, id, created_at, event_type, body, mac)
				SELECT 5, 'forged', created_at, event_type, REPLACE(body, '"seq":4', '"seq":5'), mac FROM audit_log WHERE seq = 4`)
			return err
		}, 5, "altered"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			forEachEngine(t, func(t *testing.T, s *store.Store) {
				for i := range 5 {
					if err := s.RecordAuditEvents(context.Background(), auditEvent("test.tamper", fmt.Sprint(i))); err != nil {
						t.Fatal(err)
					}
				}
				mustVerify(t, s)
				if err := tc.tamper(s.DB(), s.Engine()); err != nil {
					t.Fatalf("tampering: %v", err)
				}
				v, err := s.VerifyAudit(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if v.Problem == nil {
					t.Fatal("verification passed a tampered chain")
				}
				if v.Problem.Seq != tc.wantSeq || v.Problem.Kind != tc.wantKind {
					t.Fatalf("verification reported %s, want event %d %s", v.Problem, tc.wantSeq, tc.wantKind)
				}
			})
		})
	}
}

type execer = *sql.DB

// Pruning deletes whole old days and keeps the chain verifiable from the
// checkpoint of the last pruned day; a later deletion is still found.
func TestAuditPruneKeepsTheChainVerifiable(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		days := []time.Time{now.AddDate(0, 0, -10), now.AddDate(0, 0, -9), now.AddDate(0, 0, -1), now}
		for _, d := range days {
			for i := range 3 {
				ev := auditEvent("test.prune", fmt.Sprintf("%s-%d", d.Format("01-02"), i))
				ev.Time = d
				if err := s.RecordAuditEvents(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
		}
		mustVerify(t, s)
		n, err := s.PruneAudit(ctx, now.AddDate(0, 0, -5))
		if err != nil || n != 6 {
			t.Fatalf("pruned %d events (%v), want the 6 of the two old days", n, err)
		}
		v := mustVerify(t, s)
		if v.First != 7 || v.Events != 6 || v.Last != 12 {
			t.Fatalf("after pruning verified events %d..%d (%d), want 7..12 (6)", v.First, v.Last, v.Events)
		}
		// Deleting the oldest remaining event is not hidden by pruning.
		if _, err := s.DB().Exec(`DELETE FROM audit_log WHERE seq = 7`); err != nil {
			t.Fatal(err)
		}
		v, err = s.VerifyAudit(ctx)
		if err != nil || v.Problem == nil || v.Problem.Kind != "removed" || v.Problem.Seq != 7 {
			t.Fatalf("after deleting event 7: %+v, %v", v, err)
		}
	})
}

// The stream gets each committed event's JSON line, with its version and
// MAC, and nothing of a write that did not commit.
func TestAuditStreamLines(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		var mu sync.Mutex
		var lines []string
		s.SetAudit(store.AuditOptions{Signer: storetest.AuditKey(), Stream: func(line []byte) {
			mu.Lock()
			lines = append(lines, string(line))
			mu.Unlock()
		}})
		ctx := gatehouse.WithAuditClient(context.Background(), netip.MustParseAddr("203.0.113.9"), "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")
		ctx = gatehouse.WithAuditActor(ctx, gatehouse.AuditActor{Type: "user", UUID: "u-1", Email: "a@example.com"})
		if err := s.RecordAuditEvents(ctx, auditEvent("test.stream", "t1")); err != nil {
			t.Fatal(err)
		}
		_, _, user := newOwner(t, s, "audit-stream@example.com")
		failing := gatehouse.WithAuditEvents(ctx, auditEvent("test.stream", "never"))
		if err := s.CreatePersonalAPIKey(failing, &gatehouse.PersonalAPIKey{ID: gatehouse.NewUUID(), UserID: user.ID, SecureValue: "x", CreatedAt: time.Now()}, 0); err == nil {
			t.Fatal("a key over the limit was created")
		}
		if len(lines) != 1 {
			t.Fatalf("streamed %d lines, want 1: %q", len(lines), lines)
		}
		var line gatehouse.AuditLine
		if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
			t.Fatal(err)
		}
		if line.Version != gatehouse.AuditSchemaVersion || line.Seq != 1 || line.MAC == "" || line.Client.Address != "203.0.113.9" ||
			line.Client.UserAgent != "Firefox" || line.Actor.UUID != "u-1" || line.Outcome != "success" {
			t.Fatalf("streamed line %s", lines[0])
		}
		var exported []string
		if err := s.ExportAudit(context.Background(), time.Time{}, time.Time{}, func(l []byte) error {
			exported = append(exported, string(l))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(exported) != 1 || exported[0] != lines[0] {
			t.Fatalf("export %q differs from the stream %q", exported, lines)
		}
		if strings.Contains(lines[0], "never") {
			t.Fatal("an uncommitted event was streamed")
		}
	})
}
