// Package storetest opens fresh, migrated stores for tests on every engine:
// SQLite in a temporary directory, and PostgreSQL in a schema of its own
// that is dropped when the test ends. RunConformance is the suite of
// storage contracts every engine must pass.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// Engines lists the engines a store test runs on.
var Engines = []store.Engine{store.SQLite, store.Postgres}

// Shared returns store options for a migrated, empty database on engine
// that several stores (or server processes) of one test may open: on
// PostgreSQL a schema from the pool (pgpool.go), given back emptied when
// the test ends, after every store the test opened on it has closed; on
// SQLite a copy of the migrated template in a new temporary directory.
// Tests that need a database nothing has migrated use Options.
func Shared(t testing.TB, engine store.Engine) store.Options {
	t.Helper()
	if engine == store.Postgres {
		u, done, err := pgSchema(t)
		if err != nil {
			testenv.Unavailable(t, "postgres", "cannot prepare a schema at GATEHOUSE_TEST_DATABASE_URL: "+err.Error())
		}
		// Registered before the test opens its stores, so it runs after
		// they have closed.
		t.Cleanup(done)
		return store.Options{DatabaseURL: u}
	}
	opts := Options(t, engine)
	tmpl, err := sqliteTemplate()
	if err != nil {
		t.Fatalf("migrating the SQLite template: %v", err)
	}
	if err := os.WriteFile(filepath.Join(opts.DataDir, store.SQLiteFile), tmpl, 0o600); err != nil {
		t.Fatal(err)
	}
	return opts
}

// Open returns a migrated, empty store on engine, closed at the end of t.
// On PostgreSQL its schema comes from a pool of this process's (pgpool.go)
// and goes back to it, emptied, after the test.
// Its commits are not flushed to disk (store.Options.Unsynced): the
// database is thrown away with the test, and the tests that check
// durability run a server process on Options instead.
func Open(t testing.TB, engine store.Engine) *store.Store {
	t.Helper()
	// A pooled schema, or a copy of a database this process migrated once:
	// Migrate below then finds every migration applied, instead of
	// running the schema again for each of hundreds of tests.
	opts := Shared(t, engine)
	opts.Unsynced = true
	s, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("opening %s store: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrating %s store: %v", engine, err)
	}
	s.SetAudit(store.AuditOptions{Signer: AuditKey()})
	return s
}

// template is the file of a freshly migrated SQLite database, made once
// per test process.
var template struct {
	once sync.Once
	db   []byte
	err  error
}

// sqliteTemplate migrates a database in a directory of its own, closes it
// (which checkpoints the WAL into the file), keeps the file's bytes and
// removes the directory.
func sqliteTemplate() ([]byte, error) {
	template.once.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-storetest-")
		if err != nil {
			template.err = err
			return
		}
		defer os.RemoveAll(dir)
		s, err := store.Open(context.Background(), store.Options{DataDir: dir, Unsynced: true})
		if err != nil {
			template.err = err
			return
		}
		if _, err := s.Migrate(context.Background()); err != nil {
			s.Close()
			template.err = err
			return
		}
		if err := s.Close(); err != nil {
			template.err = err
			return
		}
		template.db, template.err = os.ReadFile(filepath.Join(dir, store.SQLiteFile))
	})
	return template.db, template.err
}

// AuditKey is the audit-log key of the stores Open returns.
func AuditKey() *secretkey.Key {
	return secretkey.NewKeyring("storetest-audit-log-key").For(secretkey.PurposeAuditLog)
}

// Options returns store options for a fresh database on engine: a new
// temporary directory for SQLite, a new schema for PostgreSQL (dropped at
// the end of t). Tests that run a server process use them.
func Options(t testing.TB, engine store.Engine) store.Options {
	t.Helper()
	if engine == store.SQLite {
		return store.Options{DataDir: t.TempDir()}
	}
	base := testenv.PostgresURL(t)
	schema := "gh_test_" + randomSuffix()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		testenv.Unavailable(t, "postgres", "cannot create a schema at GATEHOUSE_TEST_DATABASE_URL: "+err.Error())
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer db.Close()
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return store.Options{DatabaseURL: u.String()}
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
