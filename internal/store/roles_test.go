package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// The least-privilege set-up of docs/SECURITY.md: one role migrates, the
// server runs as another that may only read and write rows. Once migrated,
// the runtime role starts (Migrate finds nothing to do and creates
// nothing), works, and cannot change the schema.
func TestRuntimeRoleWithoutCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	opts := storetest.Options(t, store.Postgres)
	owner, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	if _, err := owner.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(opts.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	role := fmt.Sprintf("gh_app_%d", rand.Int64N(1<<40))
	admin := owner.DB()
	for _, q := range []string{
		"CREATE ROLE " + role + " LOGIN",
		"GRANT USAGE ON SCHEMA " + schema + " TO " + role,
		"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA " + schema + " TO " + role,
		"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA " + schema + " TO " + role,
	} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", opts.DatabaseURL)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP OWNED BY " + role)
		db.Exec("DROP ROLE " + role)
	})
	u.User = url.User(role)
	app, err := store.Open(ctx, store.Options{DatabaseURL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	applied, err := app.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("migrate as the runtime role: applied %v, %v", applied, err)
	}
	newOwner(t, app, "runtime-role@example.com") // rows, triggers, sequences
	if _, err := app.DB().ExecContext(ctx, "CREATE TABLE intruder (id INTEGER)"); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("the runtime role changed the schema: %v", err)
	}
}
