package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// migration is one numbered SQL file.
type migration struct {
	version int
	name    string
	sql     string
}

func (s *Store) migrations() ([]migration, error) {
	dir := "migrations/" + string(s.engine)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s: name must start with a number and _", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, dir+"/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// Migrate applies every embedded migration not yet applied, each in its own
// transaction, and returns the names it applied. Instances starting at once
// against one PostgreSQL serialise on an advisory lock; SQLite serialises on
// its write lock.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	all, err := s.migrations()
	if err != nil {
		return nil, err
	}
	// Waiting for another instance's migration and changing the schema of
	// a large table take longer than a request may: lift the call bounds.
	defer s.io.lift()()
	create := `CREATE TABLE IF NOT EXISTS gatehouse_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`
	if s.engine == Postgres {
		create = strings.Replace(create, "TIMESTAMP", "TIMESTAMPTZ", 1)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockMigrations(ctx, tx); err != nil {
			return err
		}
		if s.engine == Postgres {
			// A runtime role without CREATE on the schema (docs/SECURITY.md)
			// may start once the migration role has migrated: PostgreSQL
			// refuses CREATE TABLE IF NOT EXISTS to it even for an existing
			// table, so look first.
			var exists bool
			if err := tx.QueryRowContext(ctx, `SELECT to_regclass('gatehouse_migrations') IS NOT NULL`).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return nil
			}
		}
		_, err := tx.ExecContext(ctx, create)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: creating migrations table: %w", err)
	}
	var applied []string
	for _, m := range all {
		done := false
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			if err := s.lockMigrations(ctx, tx); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.q("SELECT COUNT(*) FROM gatehouse_migrations WHERE version = ?"), m.version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				done = true
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("applying %s: %w", m.name, err)
			}
			_, err := tx.ExecContext(ctx, s.q("INSERT INTO gatehouse_migrations (version, name, applied_at) VALUES (?, ?, ?)"), m.version, m.name, time.Now().UTC())
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("store: migrate: %w", err)
		}
		if !done {
			applied = append(applied, m.name)
		}
	}
	return applied, nil
}

// lockMigrations makes concurrent PostgreSQL migrators take turns for the
// rest of tx. (SQLite's immediate transactions already take turns.)
func (s *Store) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	if s.engine != Postgres {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0"); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7291046)")
	return err
}
