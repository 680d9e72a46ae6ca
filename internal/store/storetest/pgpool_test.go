package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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

// holdOwnerLock takes owner's lock on a session of its own, as that
// owner's running process would, until the test ends.
func holdOwnerLock(t *testing.T, owner string) {
	t.Helper()
	ctx := context.Background()
	other, err := sql.Open("pgx", pgPool.base.String())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); other.Close() })
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", pgPoolLockClass, owner); err != nil {
		t.Fatal(err)
	}
}

// takeSchema takes a schema out of this process's pool for a test to
// play another process's leftover with.
func takeSchema(t *testing.T) string {
	t.Helper()
	u, done, err := pgSchema(t)
	if err != nil {
		t.Fatal(err)
	}
	done() // emptied and back in the free list: take it out again
	pgPool.mu.Lock()
	defer pgPool.mu.Unlock()
	for i, s := range pgPool.free {
		if strings.Contains(u, "search_path="+s) {
			pgPool.free = append(pgPool.free[:i], pgPool.free[i+1:]...)
			return s
		}
	}
	t.Fatalf("schema of %s not in the free list", u)
	return ""
}

// A schema left by an ended process, even one that process left full of
// rows, is adopted: renamed into this process's pool, and emptied to what
// a fresh migration leaves. A running process's schema is not touched.
func TestPooledSchemaOfEndedProcessAdopted(t *testing.T) {
	Open(t, store.Postgres) // the pool is open
	ctx := context.Background()
	dead, running := "gh_pool_0000dead00_1", "gh_pool_00a11ve000_1"
	for _, name := range []string{dead, running} {
		if _, err := pgPool.admin.Exec("ALTER SCHEMA " + takeSchema(t) + " RENAME TO " + name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dropSchema(context.Background(), name) })
		// Left mid-test: a row the next user must not see.
		tx, err := pgPool.admin.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("SET LOCAL search_path = " + name); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec("INSERT INTO organizations (id, name, created_at) VALUES ('left', 'Left', now())"); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	holdOwnerLock(t, "00a11ve000")
	var adopted []string
	for schemaExists(t, dead) {
		schema, more := adoptSchema(ctx)
		if schema != "" {
			adopted = append(adopted, schema)
			t.Cleanup(func() { releaseSchema(schema) })
		}
		if !more {
			t.Fatalf("%s, of an ended process, was not adopted", dead)
		}
	}
	if !schemaExists(t, running) {
		t.Fatalf("%s, of a running process, is gone", running)
	}
	for _, schema := range adopted {
		if !strings.HasPrefix(schema, "gh_pool_"+pgPool.owner+"_") {
			t.Fatalf("adopted schema %s is not named for this process", schema)
		}
		var n int
		if err := pgPool.admin.QueryRow("SELECT count(*) FROM " + schema + ".organizations").Scan(&n); err != nil || n != 0 {
			t.Fatalf("adopted schema %s has %d organizations (%v), want none", schema, n, err)
		}
		var gen int64
		if err := pgPool.admin.QueryRow("SELECT value FROM " + schema + ".auth_generation WHERE id = 1").Scan(&gen); err != nil || gen != 1 {
			t.Fatalf("adopted schema %s: auth generation %d, %v; want the seed row, 1", schema, gen, err)
		}
	}
}

// A left schema whose definition no fresh migration recorded (an older
// version's, or one a test changed) is dropped, not adopted.
func TestPooledSchemaOfUnknownDefinitionNotAdopted(t *testing.T) {
	Open(t, store.Postgres) // the pool is open
	schema := takeSchema(t)
	t.Cleanup(func() { dropSchema(context.Background(), schema) })
	if _, err := pgPool.admin.Exec("ALTER TABLE " + schema + ".users ADD COLUMN intruder TEXT"); err != nil {
		t.Fatal(err)
	}
	if emptyAdopted(context.Background(), schema) {
		t.Fatalf("a schema with a column no migration adds was adopted")
	}
}

// Opening a pool drops the leftovers of ended processes beyond the ones
// kept for adoption, and never those of a running process.
func TestPooledSchemasOfEndedProcessesSwept(t *testing.T) {
	Open(t, store.Postgres) // the pool is open
	ctx := context.Background()
	running := "gh_pool_00a11ve001_1"
	if _, err := pgPool.admin.Exec("CREATE SCHEMA " + running); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropSchema(context.Background(), running) })
	holdOwnerLock(t, "00a11ve001")
	for i := range pgPoolKeep + 3 {
		name := fmt.Sprintf("gh_pool_0000dead%02d_1", i+10)
		if _, err := pgPool.admin.Exec("CREATE SCHEMA " + name); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dropSchema(context.Background(), name) })
	}
	sweepPGPool(ctx)
	if !schemaExists(t, running) {
		t.Errorf("%s, of a running process, was dropped", running)
	}
	left := 0
	for owner, schemas := range endedSchemas(ctx) {
		if lockEnded(ctx, owner) {
			unlockOwner(ctx, owner)
			left += len(schemas)
		}
	}
	// At most: other test processes may adopt some meanwhile.
	if left > pgPoolKeep {
		t.Errorf("%d schemas of ended processes left, want at most %d", left, pgPoolKeep)
	}
}
