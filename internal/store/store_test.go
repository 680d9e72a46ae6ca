package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// forEachEngine runs fn as a subtest on every engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			fn(t, storetest.Open(t, engine))
		})
	}
}

func newOwner(t *testing.T, s *store.Store, email string) (*gatehouse.Organization, *gatehouse.Project, *gatehouse.User) {
	t.Helper()
	org := &gatehouse.Organization{ID: gatehouse.NewUUID(), Name: "Acme", MembersCanUsePersonalAPIKeys: true}
	secret := gatehouse.NewProjectSecret()
	project := &gatehouse.Project{Name: "Default project", APIToken: gatehouse.NewProjectToken(),
		SecretTokenHash: gatehouse.HashToken(secret), SecretTokenMask: gatehouse.MaskToken(secret)}
	user := &gatehouse.User{UUID: gatehouse.NewUUID(), Email: email, FirstName: "Ada", PasswordHash: "argon2id$fake", IsActive: true}
	if err := s.CreateOrganizationWithOwner(context.Background(), org, project, user); err != nil {
		t.Fatalf("CreateOrganizationWithOwner: %v", err)
	}
	return org, project, user
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		applied, err := s.Migrate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(applied) != 0 {
			t.Fatalf("second migrate applied %v", applied)
		}
	})
}

func TestOrganizationOwnerRoundTrip(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, project, user := newOwner(t, s, "Ada@Example.com")
		if project.ID == 0 || user.ID == 0 {
			t.Fatal("IDs not assigned")
		}
		got, err := s.UserByEmail(ctx, "ada@EXAMPLE.com")
		if err != nil {
			t.Fatalf("case-insensitive lookup: %v", err)
		}
		if got.UUID != user.UUID || got.Email != "Ada@Example.com" || got.FirstName != "Ada" ||
			got.PasswordHash.Reveal() != "argon2id$fake" || !got.IsActive || !got.IsStaff || got.IsEmailVerified != nil ||
			got.CurrentOrganizationID != org.ID || got.CurrentProjectID != project.ID {
			t.Fatalf("user round trip: %+v", got)
		}
		if got.CreatedAt.Sub(user.CreatedAt).Abs() > 1e6 {
			t.Fatalf("created_at %v, want %v", got.CreatedAt, user.CreatedAt)
		}
		byUUID, err := s.UserByUUID(ctx, user.UUID)
		if err != nil || byUUID.ID != user.ID {
			t.Fatalf("UserByUUID: %v %v", byUUID, err)
		}
		o, err := s.OrganizationByID(ctx, org.ID)
		if err != nil || o.Name != "Acme" || o.Enforce2FA || !o.MembersCanUsePersonalAPIKeys || o.SessionCookieAge != nil {
			t.Fatalf("organization round trip: %+v %v", o, err)
		}
		p, err := s.ProjectByAPIToken(ctx, project.APIToken)
		if err != nil || p.ID != project.ID || p.OrganizationID != org.ID || p.SecretTokenHash != project.SecretTokenHash || p.SecretTokenBackupHash != "" {
			t.Fatalf("project round trip: %+v %v", p, err)
		}
		ms, err := s.MembershipsOfUser(ctx, user.ID)
		if err != nil || len(ms) != 1 || ms[0].Level != gatehouse.LevelOwner || ms[0].OrganizationID != org.ID {
			t.Fatalf("memberships: %+v %v", ms, err)
		}
		if n, _ := s.CountOrganizations(ctx); n != 1 {
			t.Fatalf("CountOrganizations = %d", n)
		}
		// Only the instance's first user becomes staff.
		_, _, second := newOwner(t, s, "second@example.com")
		if u, _ := s.UserByID(ctx, second.ID); u.IsStaff {
			t.Fatal("a later user became staff")
		}
		// CreateFirstOrganization refuses once an organization exists.
		secret := gatehouse.NewProjectSecret()
		err = s.CreateFirstOrganization(ctx, &gatehouse.Organization{ID: gatehouse.NewUUID(), Name: "Late"},
			&gatehouse.Project{Name: "P", APIToken: gatehouse.NewProjectToken(), SecretTokenHash: gatehouse.HashToken(secret), SecretTokenMask: "x"},
			&gatehouse.User{UUID: gatehouse.NewUUID(), Email: "late@example.com", IsActive: true})
		if !errors.Is(err, gatehouse.ErrSignupClosed) {
			t.Fatalf("CreateFirstOrganization with an organization present: %v", err)
		}
	})
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.UserByEmail(ctx, "nobody@example.com"); !store.IsNotFound(err) {
			t.Fatalf("UserByEmail: %v", err)
		}
		if _, err := s.ProjectByAPIToken(ctx, "phc_nope"); !store.IsNotFound(err) {
			t.Fatalf("ProjectByAPIToken: %v", err)
		}
		if _, err := s.OrganizationByID(ctx, "nope"); !store.IsNotFound(err) {
			t.Fatalf("OrganizationByID: %v", err)
		}
	})
}

func TestDuplicateEmailIsConflictAndChangesNothing(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		newOwner(t, s, "dup@example.com")
		org := &gatehouse.Organization{ID: gatehouse.NewUUID(), Name: "Other"}
		secret := gatehouse.NewProjectSecret()
		project := &gatehouse.Project{Name: "P", APIToken: gatehouse.NewProjectToken(), SecretTokenHash: gatehouse.HashToken(secret), SecretTokenMask: "x"}
		user := &gatehouse.User{UUID: gatehouse.NewUUID(), Email: "DUP@example.COM", IsActive: true}
		err := s.CreateOrganizationWithOwner(ctx, org, project, user)
		if !errors.Is(err, gatehouse.ErrConflict) {
			t.Fatalf("want ErrConflict, got %v", err)
		}
		if n, _ := s.CountOrganizations(ctx); n != 1 {
			t.Fatalf("failed signup left %d organizations", n)
		}
		if _, err := s.ProjectByAPIToken(ctx, project.APIToken); !store.IsNotFound(err) {
			t.Fatalf("failed signup left its project: %v", err)
		}
	})
}

func event(projectID int64, uuid, name string) gatehouse.Event {
	return gatehouse.Event{ProjectID: projectID, UUID: uuid, Name: name, DistinctID: "user-1",
		Timestamp: "2026-11-23T10:00:00Z", Properties: []byte(`{"event":"` + name + `"}`)}
}

func TestInsertEventsDeduplicatesByUUID(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, p, _ := newOwner(t, s, "ev@example.com")
		u1, u2 := gatehouse.NewUUID(), gatehouse.NewUUID()
		n, err := s.InsertEvents(ctx, []gatehouse.Event{event(p.ID, u1, "a"), event(p.ID, u2, "b"), event(p.ID, u1, "a again")})
		if err != nil || n != 2 {
			t.Fatalf("first insert: n=%d err=%v", n, err)
		}
		n, err = s.InsertEvents(ctx, []gatehouse.Event{event(p.ID, u2, "b retry")})
		if err != nil || n != 0 {
			t.Fatalf("retry: n=%d err=%v", n, err)
		}
		evs, err := s.EventsOfProject(ctx, p.ID, 10)
		if err != nil || len(evs) != 2 {
			t.Fatalf("events: %v %v", evs, err)
		}
		names := map[string]string{}
		for _, e := range evs {
			names[e.UUID] = e.Name
			if e.DistinctID != "user-1" || e.Timestamp != "2026-11-23T10:00:00Z" || !strings.HasPrefix(string(e.Properties), `{"event"`) {
				t.Fatalf("event round trip: %+v", e)
			}
		}
		if names[u1] != "a" || names[u2] != "b" {
			t.Fatalf("the first copy of each event must be kept: %v", names)
		}
	})
}

func TestInsertEventsLargeBatch(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, p, _ := newOwner(t, s, "big@example.com")
		var evs []gatehouse.Event
		for i := 0; i < 1234; i++ {
			evs = append(evs, event(p.ID, gatehouse.NewUUID(), fmt.Sprint("e", i)))
		}
		if n, err := s.InsertEvents(ctx, evs); err != nil || n != len(evs) {
			t.Fatalf("n=%d err=%v", n, err)
		}
		if n, _ := s.CountEvents(ctx, p.ID); n != len(evs) {
			t.Fatalf("count %d", n)
		}
	})
}

// TestDeletingAProjectDeletesItsEvents checks that a project's events go
// with it, on PostgreSQL by trigger (migration 0018) and on SQLite by the
// foreign key, also when the project goes with its organization, and that
// a write for a project that no longer exists fails.
func TestDeletingAProjectDeletesItsEvents(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, p, _ := newOwner(t, s, "gone@example.com")
		_, kept, _ := newOwner(t, s, "kept@example.com")
		for _, id := range []int64{p.ID, kept.ID} {
			if _, err := s.InsertEvents(ctx, []gatehouse.Event{event(id, gatehouse.NewUUID(), "a"), event(id, gatehouse.NewUUID(), "b")}); err != nil {
				t.Fatal(err)
			}
		}
		del := `DELETE FROM organizations WHERE id = ?`
		if s.Engine() == store.Postgres {
			del = `DELETE FROM organizations WHERE id = $1`
		}
		if _, err := s.DB().ExecContext(ctx, del, org.ID); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountEvents(ctx, p.ID); err != nil || n != 0 {
			t.Fatalf("events of the deleted project: %d, %v", n, err)
		}
		if n, err := s.CountEvents(ctx, kept.ID); err != nil || n != 2 {
			t.Fatalf("events of the other project: %d, %v", n, err)
		}
		if _, err := s.InsertEvents(ctx, []gatehouse.Event{event(p.ID, gatehouse.NewUUID(), "late")}); err == nil {
			t.Fatal("an event for a deleted project was stored")
		}
		if n, _ := s.CountEvents(ctx, p.ID); n != 0 {
			t.Fatalf("events of the deleted project after a late write: %d", n)
		}
	})
}

// TestConcurrentWritesNeverFail is the "database is locked" guard: many
// writers at once must all succeed and every acknowledged row must be there.
func TestConcurrentWritesNeverFail(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, p, _ := newOwner(t, s, "conc@example.com")
		const writers, batches, perBatch = 16, 10, 20
		var wg sync.WaitGroup
		errs := make(chan error, writers*batches)
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := 0; b < batches; b++ {
					var evs []gatehouse.Event
					for i := 0; i < perBatch; i++ {
						evs = append(evs, event(p.ID, gatehouse.NewUUID(), "c"))
					}
					if _, err := s.InsertEvents(ctx, evs); err != nil {
						errs <- err
					}
				}
			}()
		}
		// Readers run alongside the writers.
		for r := 0; r < 4; r++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 50; i++ {
					if _, err := s.CountEvents(ctx, p.ID); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent write failed: %v", err)
		}
		if n, _ := s.CountEvents(ctx, p.ID); n != writers*batches*perBatch {
			t.Fatalf("stored %d events, want %d", n, writers*batches*perBatch)
		}
	})
}

func TestConcurrentMigrationsOnOneDatabase(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "migrates one new database from several stores at once, on both engines")
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			opts := storetest.Options(t, engine)
			var wg sync.WaitGroup
			errs := make(chan error, 3)
			for i := 0; i < 3; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s, err := store.Open(context.Background(), opts)
					if err != nil {
						errs <- err
						return
					}
					defer s.Close()
					if _, err := s.Migrate(context.Background()); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("concurrent migrate: %v", err)
			}
		})
	}
}

// TestOneBadWriteDoesNotFailOthers checks that concurrent writers sharing a
// commit (group commit) are isolated: a write that violates a
// constraint fails alone and every other write is stored.
func TestOneBadWriteDoesNotFailOthers(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, p, _ := newOwner(t, s, "iso@example.com")
		const writers = 24
		var wg sync.WaitGroup
		results := make([]error, writers)
		start := make(chan struct{})
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				project := p.ID
				if w%8 == 3 {
					project = 999_999 // no such project: foreign key violation
				}
				<-start
				_, results[w] = s.InsertEvents(ctx, []gatehouse.Event{event(project, gatehouse.NewUUID(), "iso")})
			}()
		}
		close(start)
		wg.Wait()
		good := 0
		for w, err := range results {
			if w%8 == 3 {
				if err == nil {
					t.Errorf("writer %d: bad write succeeded", w)
				}
				continue
			}
			if err != nil {
				t.Errorf("writer %d failed because of another's bad write: %v", w, err)
			}
			good++
		}
		if n, _ := s.CountEvents(ctx, p.ID); n != good {
			t.Fatalf("stored %d, want %d", n, good)
		}
	})
}

// TestGroupedWritesCountTheirOwnEvents sends concurrent writes that share
// some events, so group commit puts overlapping writes in one transaction:
// every event is stored once, with the content of the write that stored
// it, and the counts the writes return add up to the events stored.
func TestGroupedWritesCountTheirOwnEvents(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, p, _ := newOwner(t, s, "group@example.com")
		shared := make([]string, 10)
		for i := range shared {
			shared[i] = gatehouse.NewUUID()
		}
		const writers = 32
		received := time.Date(2026, 11, 23, 10, 0, 1, 123456000, time.UTC)
		counts := make([]int, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				evs := []gatehouse.Event{event(p.ID, gatehouse.NewUUID(), fmt.Sprint("own ", w))}
				for _, u := range shared[w%3 : w%3+5] {
					evs = append(evs, event(p.ID, u, fmt.Sprint("shared from ", w)))
				}
				for i := range evs {
					evs[i].ReceivedAt = received
				}
				<-start
				counts[w], errs[w] = s.InsertEvents(ctx, evs)
			}()
		}
		close(start)
		wg.Wait()
		total := 0
		for w := range writers {
			if errs[w] != nil {
				t.Fatalf("writer %d: %v", w, errs[w])
			}
			total += counts[w]
		}
		stored, err := s.EventsOfProject(ctx, p.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if want := writers + 7; len(stored) != want || total != want {
			t.Fatalf("stored %d events, writes counted %d, want %d", len(stored), total, want)
		}
		for _, e := range stored {
			if !strings.HasPrefix(e.Name, "own ") && !strings.HasPrefix(e.Name, "shared from ") || !e.ReceivedAt.Equal(received) {
				t.Fatalf("unexpected event %+v", e)
			}
		}
	})
}

func TestInsertAfterCloseFails(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		_, p, _ := newOwner(t, s, "closed@example.com")
		s.Close()
		if _, err := s.InsertEvents(context.Background(), []gatehouse.Event{event(p.ID, gatehouse.NewUUID(), "x")}); err == nil {
			t.Fatal("insert after Close succeeded")
		}
	})
}

// TestEventTimeOfReceiptIgnoresSessionTimeZone stores events through a
// PostgreSQL session whose time zone is not UTC: the time of receipt read
// back is the instant that was stored, not one shifted by the zone.
func TestEventTimeOfReceiptIgnoresSessionTimeZone(t *testing.T) {
	t.Parallel()
	opts := storetest.Options(t, store.Postgres)
	u, err := url.Parse(opts.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("timezone", "America/New_York")
	u.RawQuery = q.Encode()
	opts.DatabaseURL, opts.Unsynced = u.String(), true
	ctx := context.Background()
	s, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	_, p, _ := newOwner(t, s, "zone@example.com")
	received := time.Date(2026, 11, 23, 10, 0, 1, 123456000, time.UTC)
	e := event(p.ID, gatehouse.NewUUID(), "zoned")
	e.ReceivedAt = received
	if _, err := s.InsertEvents(ctx, []gatehouse.Event{e}); err != nil {
		t.Fatal(err)
	}
	stored, err := s.EventsOfProject(ctx, p.ID, 10)
	if err != nil || len(stored) != 1 {
		t.Fatalf("events: %v, %v", stored, err)
	}
	if !stored[0].ReceivedAt.Equal(received) {
		t.Fatalf("received at %v, stored %v", received, stored[0].ReceivedAt)
	}
}

// TestEventCopyFallsBackOnDuplicates checks the two ways PostgreSQL
// stores a group of events: new events go in by COPY, and a group with a
// uuid already stored (by an earlier write, or twice in one write) fails
// that COPY and is written again skipping duplicates, with the same
// counts and rows as if there had been no COPY.
func TestEventCopyFallsBackOnDuplicates(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	_, p, _ := newOwner(t, s, "copy@example.com")
	first := []gatehouse.Event{event(p.ID, gatehouse.NewUUID(), "a"), event(p.ID, gatehouse.NewUUID(), "b")}
	if n, err := s.InsertEvents(ctx, first); err != nil || n != 2 {
		t.Fatalf("new events: n=%d err=%v", n, err)
	}
	if c := store.EventCopyConflicts(s); c != 0 {
		t.Fatalf("new events met %d conflicts, want none (they go in by COPY)", c)
	}
	again := []gatehouse.Event{event(p.ID, first[1].UUID, "b again"), event(p.ID, gatehouse.NewUUID(), "c")}
	if n, err := s.InsertEvents(ctx, again); err != nil || n != 1 {
		t.Fatalf("one stored, one new: n=%d err=%v", n, err)
	}
	if c := store.EventCopyConflicts(s); c != 1 {
		t.Fatalf("a stored uuid met %d conflicts, want 1", c)
	}
	u := gatehouse.NewUUID()
	twice := []gatehouse.Event{event(p.ID, u, "d"), event(p.ID, u, "d twice")}
	if n, err := s.InsertEvents(ctx, twice); err != nil || n != 1 {
		t.Fatalf("one uuid twice in a write: n=%d err=%v", n, err)
	}
	if c := store.EventCopyConflicts(s); c != 2 {
		t.Fatalf("a uuid twice in one write met %d conflicts, want 2", c)
	}
	stored, err := s.EventsOfProject(ctx, p.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range stored {
		names[e.Name] = true
	}
	if len(stored) != 4 || !names["a"] || !names["b"] || !names["c"] || !names["d"] {
		t.Fatalf("stored %d events %v, want a, b, c and d", len(stored), names)
	}
}

// TestEventWithoutAUUIDFailsOnlyItsWrite: PostgreSQL stores uuids as its
// uuid type, so a write whose event has a uuid that is not one fails
// (capture never sends one: it stores canonical uuids), and a write
// grouped with it still succeeds.
func TestEventWithoutAUUIDFailsOnlyItsWrite(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	_, p, _ := newOwner(t, s, "notauuid@example.com")
	var wg sync.WaitGroup
	var badErr error
	goodErrs := make([]error, 20)
	for i := range goodErrs { // some of these share a group with the bad one
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, goodErrs[i] = s.InsertEvents(ctx, []gatehouse.Event{event(p.ID, gatehouse.NewUUID(), "good")})
		}()
	}
	_, badErr = s.InsertEvents(ctx, []gatehouse.Event{event(p.ID, "not-a-uuid-but-exactly-36-chars-long", "bad")})
	wg.Wait()
	if badErr == nil {
		t.Fatal("an event whose uuid is not one was stored")
	}
	if err := errors.Join(goodErrs...); err != nil {
		t.Fatalf("a good write failed: %v", err)
	}
	if n, _ := s.CountEvents(ctx, p.ID); n != 20 {
		t.Fatalf("%d events stored, want the 20 good ones", n)
	}
}
