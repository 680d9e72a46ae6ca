package store_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// postgresPair opens two stores on one fresh PostgreSQL schema, as two
// instances of one deployment.
func postgresPair(t *testing.T) (a, b *store.Store) {
	t.Helper()
	ctx := context.Background()
	opts := storetest.Shared(t, store.Postgres)
	a, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	if _, err := a.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	b, err = store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

// waitFromMemory waits until s's listener answers the generation from
// memory.
func waitFromMemory(t *testing.T, s *store.Store) {
	t.Helper()
	for i := 0; !store.GenerationFromMemory(s); i++ {
		if i == 1000 {
			t.Fatal("the listener never answered from memory")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dbGeneration reads the generation from the database itself.
func dbGeneration(t *testing.T, s *store.Store) int64 {
	t.Helper()
	var v int64
	if err := s.DB().QueryRow(`SELECT value FROM auth_generation WHERE id = 1`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func listenerRows(t *testing.T, s *store.Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM auth_generation_listeners`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestListenedGenerationIsNeverOlderThanAReturnedWrite is the guarantee:
// once a write that moved the generation has returned, every read that
// starts afterwards, on either instance and while both answer from
// memory, returns at least that write's generation. Writers on both
// instances take turns, so the value read after a write returns is that
// write's; readers on both instances check every read against the last
// returned write.
func TestListenedGenerationIsNeverOlderThanAReturnedWrite(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs writers and readers on two instances for a few seconds, checking every read")
	a, b := postgresPair(t)
	ctx := context.Background()
	org, project, user := newOwner(t, a, "listen@example.com")
	waitFromMemory(t, a)
	waitFromMemory(t, b)

	var (
		returned   atomic.Int64 // generation of the last write that returned
		fromMemory atomic.Int64 // reads answered without the database
		stop       = make(chan struct{})
		readers    sync.WaitGroup
		failed     atomic.Bool
	)
	returned.Store(dbGeneration(t, a))
	for i := range 4 {
		s := []*store.Store{a, b}[i%2]
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				runtime.Gosched() // leave the writer and the listeners a core
				floor := returned.Load()
				if store.GenerationFromMemory(s) {
					fromMemory.Add(1)
				}
				gen, err := s.AuthGeneration(ctx)
				if err != nil || gen < floor {
					if failed.CompareAndSwap(false, true) {
						t.Errorf("instance %d read generation %d (err %v) after a write of %d had returned", i%2, gen, err, floor)
					}
					return
				}
			}
		}()
	}
	writes := []func(s *store.Store, i int) error{
		func(s *store.Store, i int) error { return s.UpdateUserNames(ctx, user.ID, "Ada", fmt.Sprint(i)) },
		func(s *store.Store, i int) error {
			k := &gatehouse.PersonalAPIKey{ID: gatehouse.NewUUID(), UserID: user.ID, Label: fmt.Sprint("k", i),
				MaskValue: "phx_...", SecureValue: fmt.Sprintf("sha256$%064d", i), Scopes: []string{"*"}, CreatedAt: time.Now()}
			if err := s.CreatePersonalAPIKey(ctx, k, 1000); err != nil {
				return err
			}
			_, err := s.DeletePersonalAPIKey(ctx, user.ID, k.ID)
			return err
		},
		func(s *store.Store, i int) error {
			return s.UpdateOrganization(ctx, &gatehouse.Organization{ID: org.ID, Name: fmt.Sprint("Acme ", i), MembersCanUsePersonalAPIKeys: true})
		},
		func(s *store.Store, i int) error {
			return s.SetProjectAPIToken(ctx, project.ID, gatehouse.NewProjectToken())
		},
	}
	began := time.Now()
	for i := range 60 {
		s := []*store.Store{a, b}[i%2]
		if err := writes[i%len(writes)](s, i); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		gen := dbGeneration(t, s)
		returned.Store(gen)
		for _, other := range []*store.Store{a, b} {
			if got, err := other.AuthGeneration(ctx); err != nil || got < gen {
				t.Fatalf("write %d returned at generation %d; an instance then read %d (err %v)", i, gen, got, err)
			}
		}
		if failed.Load() {
			break
		}
	}
	t.Logf("60 writes in %v", time.Since(began))
	close(stop)
	readers.Wait()
	if fromMemory.Load() == 0 {
		t.Fatal("no read was answered from memory")
	}
	t.Logf("%d reads answered from memory", fromMemory.Load())
}

// TestWriteDoesNotWaitForeverForAStoppedListener pauses one instance's
// listener, so it neither acknowledges nor renews: a write on the other
// still returns (after at most the lease), and the paused instance, whose
// trust ran out, reads the new generation from the database instead of
// answering from memory. Once resumed it answers from memory again.
func TestWriteDoesNotWaitForeverForAStoppedListener(t *testing.T) {
	t.Parallel()
	a, b := postgresPair(t)
	ctx := context.Background()
	_, _, user := newOwner(t, a, "pause@example.com")
	waitFromMemory(t, a)
	waitFromMemory(t, b)
	before, err := b.AuthGeneration(ctx)
	if err != nil {
		t.Fatal(err)
	}

	paused, resume := store.PauseGenerationListener(b)
	for i := 0; !paused(); i++ {
		if i == 1000 {
			resume()
			t.Fatal("the listener never paused")
		}
		time.Sleep(5 * time.Millisecond)
	}
	began := time.Now()
	if err := a.UpdateUserNames(ctx, user.ID, "Paused", "Listener"); err != nil {
		resume()
		t.Fatal(err)
	}
	t.Logf("the write returned after %v (lease %v)", time.Since(began), store.GenerationLease)
	want := dbGeneration(t, a)
	if want <= before {
		t.Fatalf("the write did not move the generation: %d, then %d", before, want)
	}
	if store.GenerationFromMemory(b) {
		t.Error("the paused instance still answers from memory after a write it did not acknowledge returned")
	}
	if got, err := b.AuthGeneration(ctx); err != nil || got < want {
		t.Errorf("the paused instance read %d (err %v), want at least %d", got, err, want)
	}
	resume()
	waitFromMemory(t, b)
	if got, err := b.AuthGeneration(ctx); err != nil || got < want {
		t.Errorf("after resuming, read %d (err %v), want at least %d", got, err, want)
	}
}

// TestListenerRowsComeAndGo: each listening instance has a row, Close
// removes it, and the row of an instance that crashed (left with a lease
// far in the future) delays a write by at most the lease.
func TestListenerRowsComeAndGo(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "waits out the 3 s lease of an instance that never acknowledges")
	a, b := postgresPair(t)
	ctx := context.Background()
	_, _, user := newOwner(t, a, "rows@example.com")
	if n := listenerRows(t, a); n != 0 {
		t.Fatalf("%d listener rows before any instance read the generation", n)
	}
	waitFromMemory(t, a)
	waitFromMemory(t, b)
	if n := listenerRows(t, a); n != 2 {
		t.Fatalf("%d listener rows with two instances listening", n)
	}
	b.Close()
	if n := listenerRows(t, a); n != 1 {
		t.Fatalf("%d listener rows after one instance closed, want 1", n)
	}

	if _, err := a.DB().Exec(`INSERT INTO auth_generation_listeners (instance_id, acked, lease_until) VALUES ('crashed', 0, now() + interval '1 hour')`); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := a.UpdateUserNames(ctx, user.ID, "Crashed", "Neighbour"); err != nil {
		t.Fatal(err)
	}
	waited := time.Since(began)
	t.Logf("the write returned after %v (lease %v)", waited, store.GenerationLease)
	if waited < store.GenerationLease {
		t.Errorf("the write returned after %v, before the lease (%v) of an instance that never acknowledged", waited, store.GenerationLease)
	}
	if got, err := a.AuthGeneration(ctx); err != nil || got != dbGeneration(t, a) {
		t.Errorf("read %d (err %v) after the write", got, err)
	}
}

// TestOnlyAuthWritesWait: the statements that make a writer wait are
// those that write a table whose triggers move the generation, and the
// store's list of those tables is the database's.
func TestOnlyAuthWritesWait(t *testing.T) {
	t.Parallel()
	for query, want := range map[string]bool{
		`UPDATE users SET first_name = $1 WHERE id = $2`:                          true,
		`DELETE FROM personal_api_keys WHERE id = $1 AND user_id = $2`:            true,
		`insert into feature_flags (key) values ($1) returning id`:                true,
		`UPDATE personal_api_keys SET last_used_at = $1 WHERE id = $2`:            true, // conservative
		`SELECT id FROM users WHERE email = $1`:                                   false,
		`DELETE FROM sessions WHERE user_id = $1 AND key_hash <> $2`:              false,
		`INSERT INTO rate_counters (key, count, expires_at) VALUES ($1, 1, $2)`:   false,
		`UPDATE organization_domains SET verified_at = $1 WHERE id = $2`:          false,
		`DELETE FROM webauthn_challenges WHERE key_hash = $1 RETURNING user_id`:   false,
		`UPDATE project_secret_api_keys SET last_used_at = $1 WHERE id = $2`:      true,
		`DELETE FROM saml_assertion_ids WHERE expires_at < $1`:                    false,
		`UPDATE remembered_devices SET last_used_at = $1 WHERE id = $2`:           false,
		`INSERT INTO two_factor_verified_sessions (session_key_hash) VALUES ($1)`: false,
	} {
		if got := store.MayMoveAuthGeneration(query); got != want {
			t.Errorf("MayMoveAuthGeneration(%q) = %v, want %v", query, got, want)
		}
	}

	s := storetest.Open(t, store.Postgres)
	rows, err := s.DB().Query(`SELECT DISTINCT event_object_table FROM information_schema.triggers WHERE trigger_schema = current_schema() AND action_statement LIKE '%bump_auth_generation%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var triggered []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		triggered = append(triggered, n)
	}
	rows.Close()
	known := slices.Sorted(slices.Values(store.AuthTables))
	if !slices.Equal(triggered, known) {
		t.Fatalf("tables whose triggers move the generation: %v; the store knows %v", triggered, known)
	}
	// A statement on another table must not change an auth table through a
	// foreign key's action either.
	rows, err = s.DB().Query(`SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint
		WHERE contype = 'f' AND connamespace = current_schema()::regnamespace
		AND (confdeltype IN ('c', 'n', 'd') OR confupdtype IN ('c', 'n', 'd'))`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(known, child) && !slices.Contains(known, parent) {
			t.Errorf("a change to %s changes %s through a foreign key, but does not make its writer wait", parent, child)
		}
	}
}

// Any role connected to the database may NOTIFY on any channel. A forged
// notification naming this schema and a far higher generation must not
// become this instance's generation: what it cached under that number
// would then outlive every later change, a revoked key included.
func TestForgedNotificationDoesNotRaiseTheGeneration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := postgresPair(t)
	_, _, user := newOwner(t, a, "forged@example.com")
	waitFromMemory(t, a)
	var schema string
	if err := a.DB().QueryRow(`SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	real := dbGeneration(t, a)
	if _, err := b.DB().Exec(fmt.Sprintf(`NOTIFY gatehouse_auth_generation, '%s %d'`, schema, real+1_000_000)); err != nil {
		t.Fatal(err)
	}
	// The listener takes the notification within milliseconds; watch it
	// for longer than a renewal.
	for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if gen, ok := a.KnownAuthGeneration(); ok && gen > real {
			t.Fatalf("a forged notification made the generation %d (the database has %d)", gen, real)
		}
	}
	// A real change is still seen by the next read.
	if err := b.UpdateUserNames(ctx, user.ID, "After", "Forgery"); err != nil {
		t.Fatal(err)
	}
	if gen, err := a.AuthGeneration(ctx); err != nil || gen != dbGeneration(t, a) {
		t.Fatalf("after a real change: %d, %v; the database has %d", gen, err, dbGeneration(t, a))
	}
}
