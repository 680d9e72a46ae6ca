package storetest

import (
	"context"
	"database/sql"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// currentSchema names the schema a store works in.
func currentSchema(t *testing.T, s *store.Store) string {
	t.Helper()
	var name string
	if err := s.DB().QueryRow("SELECT current_schema()").Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

func schemaExists(t *testing.T, name string) bool {
	t.Helper()
	var n int
	if err := pgPool.admin.QueryRow("SELECT count(*) FROM pg_namespace WHERE nspname = $1", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// A pooled schema comes back as a fresh migration leaves it: no rows,
// identities from the start, the auth generation's seed row in place.
func TestPooledSchemaComesBackEmpty(t *testing.T) {
	ctx := context.Background()
	var used string
	var firstIDs [2]int64
	for round := range 2 {
		var schema string
		t.Run("use", func(t *testing.T) {
			s := Open(t, store.Postgres)
			schema = currentSchema(t, s)
			var gen int64
			if err := s.DB().QueryRow("SELECT value FROM auth_generation WHERE id = 1").Scan(&gen); err != nil || gen != 1 {
				t.Fatalf("auth generation = %d, %v; want the seed row, 1", gen, err)
			}
			for _, table := range []string{"users", "organizations", "projects", "memberships", "events", "audit_log"} {
				var n int
				if err := s.DB().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil || n != 0 {
					t.Fatalf("%s has %d rows (%v) in a schema handed to a new test", table, n, err)
				}
			}
			org := &gatehouse.Organization{ID: gatehouse.NewUUID(), Name: "Pool"}
			project := &gatehouse.Project{Name: "Pool", APIToken: gatehouse.NewProjectToken()}
			owner := &gatehouse.User{UUID: gatehouse.NewUUID(), Email: "pool@example.com", FirstName: "P", IsActive: true}
			if err := s.CreateOrganizationWithOwner(ctx, org, project, owner); err != nil {
				t.Fatal(err)
			}
			firstIDs[round] = owner.ID
		})
		if round == 1 && schema != used {
			t.Fatalf("the second test got schema %s, not the freed %s", schema, used)
		}
		used = schema
	}
	if firstIDs[0] != firstIDs[1] {
		t.Fatalf("user ids %d then %d: identities were not restarted", firstIDs[0], firstIDs[1])
	}
}

// A schema whose definition a test changed is dropped, not reused.
func TestPooledSchemaChangedIsDropped(t *testing.T) {
	var schema string
	t.Run("alter", func(t *testing.T) {
		s := Open(t, store.Postgres)
		schema = currentSchema(t, s)
		if _, err := s.DB().Exec("ALTER TABLE users ADD COLUMN intruder TEXT"); err != nil {
			t.Fatal(err)
		}
	})
	if schemaExists(t, schema) {
		t.Fatalf("schema %s, changed by its test, is still there", schema)
	}
	pgPool.mu.Lock()
	defer pgPool.mu.Unlock()
	for _, s := range pgPool.free {
		if s == schema {
			t.Fatalf("schema %s, changed by its test, went back to the pool", schema)
		}
	}
}

// The schemas of a process that ended are dropped by the next one; those
// of a process still running are left alone.
func TestPooledSchemasOfEndedProcessesSwept(t *testing.T) {
	Open(t, store.Postgres) // the pool is open
	ctx := context.Background()
	dead, running := "gh_pool_0000dead00_1", "gh_pool_00a11ve000_1"
	for _, s := range []string{dead, running} {
		if _, err := pgPool.admin.Exec("CREATE SCHEMA " + s); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pgPool.admin.Exec("DROP SCHEMA IF EXISTS " + s + " CASCADE") })
	}
	// Another session holds the running owner's lock, as its process would.
	other, err := sql.Open("pgx", pgPool.base.String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", pgPoolLockClass, "00a11ve000"); err != nil {
		t.Fatal(err)
	}
	sweepPGPool(ctx)
	if schemaExists(t, dead) {
		t.Errorf("%s, of an ended process, was not dropped", dead)
	}
	if !schemaExists(t, running) {
		t.Errorf("%s, of a running process, was dropped", running)
	}
}
