package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// notAuthState are the tables whose rows neither authenticate a key nor
// shape what a key-served hot path (GET /api/users/@me, local evaluation)
// returns, so they need no auth-generation trigger. A new table must be
// added here or given triggers in a migration: this test fails until one
// of the two is done, so the caches of gatehouse/gencache.go cannot go
// stale by omission.
var notAuthState = []string{
	"gatehouse_migrations", "auth_generation", "sqlite_sequence",
	"events", "rate_counters", "mail_outbox", "sessions", "invites", "known_devices",
	"totp_setups", "backup_codes", "remembered_devices", "pending_logins", "email_mfa_tokens",
	"two_factor_verified_sessions", "organization_domains",
	"social_links", "saml_assertion_ids", "webauthn_challenges",
	"audit_log", "audit_chain", "audit_checkpoints", "auth_generation_listeners",
}

func TestEveryAuthTableMovesTheGeneration(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tablesQ := `SELECT name FROM sqlite_master WHERE type = 'table'`
		triggersQ := `SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%auth_generation%'`
		if s.Engine() == store.Postgres {
			tablesQ = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
			triggersQ = `SELECT DISTINCT event_object_table FROM information_schema.triggers WHERE trigger_schema = current_schema() AND action_statement LIKE '%bump_auth_generation%'`
		}
		names := func(q string) []string {
			rows, err := s.DB().QueryContext(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					t.Fatal(err)
				}
				out = append(out, n)
			}
			return out
		}
		triggered := names(triggersQ)
		for _, table := range names(tablesQ) {
			if !slices.Contains(triggered, table) && !slices.Contains(notAuthState, table) {
				t.Errorf("table %s has no auth-generation trigger and is not listed as outside auth state", table)
			}
		}
		if len(triggered) < 8 {
			t.Fatalf("only %d tables move the generation: %v", len(triggered), triggered)
		}
	})
}

// TestAuthGenerationSeesAnotherInstancesCommitAtOnce runs two stores on one
// database, as two instances would: every auth change committed through
// one is seen by the very next generation read of the other. On
// PostgreSQL the other answers from memory, kept by its listener
// (pglisten.go); when the listener's connection is killed, reads stay
// correct (through the database) and a new connection takes over.
func TestAuthGenerationSeesAnotherInstancesCommitAtOnce(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "kills the listener's connection and waits for a new one to take over")
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			ctx := context.Background()
			opts := storetest.Options(t, engine)
			a, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if _, err := a.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			b, err := store.Open(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			_, _, user := newOwner(t, b, "gen@example.com")

			seesNextChange := func(step string) {
				t.Helper()
				before, err := a.AuthGeneration(ctx)
				if err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				if err := b.UpdateUserNames(ctx, user.ID, "Changed", step); err != nil {
					t.Fatalf("%s: %v", step, err)
				}
				after, err := a.AuthGeneration(ctx)
				if err != nil || after <= before {
					t.Fatalf("%s: generation %d after a committed change, %d before (err %v)", step, after, before, err)
				}
			}
			for i := range 20 {
				seesNextChange(fmt.Sprint("change ", i))
			}
			if engine != store.Postgres {
				return
			}
			waitFromMemory(t, a)
			pid := store.GenerationListenerPID(a)
			if pid == 0 {
				t.Fatal("no connection listens for the generation")
			}
			if _, err := b.DB().ExecContext(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)); err != nil {
				t.Fatal(err)
			}
			seesNextChange("right after the connection was killed")
			seesNextChange("again")
			for i := 0; ; i++ {
				if p := store.GenerationListenerPID(a); p != 0 && p != pid && store.GenerationFromMemory(a) {
					break
				}
				if i == 200 {
					t.Fatal("no new listener for the generation after the old one was killed")
				}
				time.Sleep(50 * time.Millisecond)
				seesNextChange(fmt.Sprint("while reconnecting ", i))
			}
			seesNextChange("after reconnecting")
		})
	}
}
