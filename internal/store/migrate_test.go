package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// A database migrated when each engine had a directory of migrations of
// its own (testdata/legacy-migrations holds those files as they were)
// opens with the one shared list, finds nothing to apply, and has the
// same schema as a database the shared list built from nothing.
func TestUpgradeFromPerEngineMigrationDirectories(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "migrates databases from nothing and from the old per-engine migrations, on both engines")
	ctx := context.Background()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			legacyOpts := storetest.Options(t, engine)
			legacy, err := store.Open(ctx, legacyOpts)
			if err != nil {
				t.Fatal(err)
			}
			applyLegacyMigrations(t, legacy.DB(), engine)
			legacy.Close()

			upgraded, err := store.Open(ctx, legacyOpts)
			if err != nil {
				t.Fatal(err)
			}
			defer upgraded.Close()
			applied, err := upgraded.Migrate(ctx)
			if err != nil {
				t.Fatalf("migrating a database of the old layout: %v", err)
			}
			// Only the steps added after the old layout's 15 are new to it.
			for _, name := range applied {
				if v, _ := strconv.Atoi(name[:4]); v <= 15 {
					t.Fatalf("migrating a database of the old layout applied %s again (applied %v)", name, applied)
				}
			}
			fresh := storetest.Open(t, engine)

			want, got := schemaDump(t, fresh), schemaDump(t, upgraded)
			if len(want) < 20 {
				t.Fatalf("schema dump too short to mean anything: %q", want)
			}
			if !slices.Equal(want, got) {
				for _, line := range want {
					if !slices.Contains(got, line) {
						t.Errorf("only in the fresh database: %s", line)
					}
				}
				for _, line := range got {
					if !slices.Contains(want, line) {
						t.Errorf("only in the upgraded database: %s", line)
					}
				}
				t.Fatal("schemas differ")
			}
			if want, got := migrationRows(t, fresh.DB()), migrationRows(t, upgraded.DB()); !slices.Equal(want, got) {
				t.Fatalf("recorded migrations differ:\nfresh    %v\nupgraded %v", want, got)
			}
			newOwner(t, upgraded, "upgraded@example.com") // the upgraded database works
		})
	}
}

// applyLegacyMigrations migrates db the way the code did before the
// shared list: every file of the engine's directory in order, each in a
// transaction that records its version and file name.
func applyLegacyMigrations(t *testing.T, db *sql.DB, engine store.Engine) {
	t.Helper()
	ctx := context.Background()
	dir := filepath.Join("testdata", "legacy-migrations", string(engine))
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	create := `CREATE TABLE gatehouse_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMP NOT NULL)`
	insert := `INSERT INTO gatehouse_migrations (version, name, applied_at) VALUES (?, ?, ?)`
	if engine == store.Postgres {
		create = strings.Replace(create, "TIMESTAMP", "TIMESTAMPTZ", 1)
		insert = `INSERT INTO gatehouse_migrations (version, name, applied_at) VALUES ($1, $2, $3)`
	}
	if _, err := db.ExecContext(ctx, create); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 15 {
		t.Fatalf("%s holds %d migrations, want the 15 of the old layout", dir, len(entries))
	}
	for _, e := range entries { // os.ReadDir sorts by name
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		num, _, _ := strings.Cut(e.Name(), "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			t.Fatalf("applying %s: %v", e.Name(), err)
		}
		if _, err := tx.ExecContext(ctx, insert, version, e.Name(), time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// migrationRows lists the recorded migrations as "version name".
func migrationRows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	return queryStrings(t, db, `SELECT version, name FROM gatehouse_migrations ORDER BY version`, "")
}

// schemaDump describes every table, column, constraint, index, trigger and
// function of the store's database, one sorted line each, with the
// PostgreSQL schema's name left out so two schemas compare.
func schemaDump(t *testing.T, s *store.Store) []string {
	t.Helper()
	db := s.DB()
	var lines []string
	if s.Engine() == store.SQLite {
		lines = queryStrings(t, db, `SELECT type, name, tbl_name, COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`, "")
		for _, table := range queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`, "") {
			lines = append(lines, queryStrings(t, db, `SELECT '`+table+`', cid, name, type, "notnull", COALESCE(dflt_value, ''), pk FROM pragma_table_info('`+table+`')`, "")...)
			lines = append(lines, queryStrings(t, db, `SELECT '`+table+`', "table", "from", COALESCE("to", ''), on_update, on_delete FROM pragma_foreign_key_list('`+table+`')`, "")...)
		}
	} else {
		var schema string
		if err := db.QueryRow(`SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`SELECT 'column', table_name, ordinal_position, column_name, data_type, is_nullable, COALESCE(column_default, ''), is_identity, COALESCE(identity_generation, '')
			   FROM information_schema.columns WHERE table_schema = current_schema()`,
			`SELECT 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid)
			   FROM pg_constraint WHERE connamespace = current_schema()::regnamespace`,
			`SELECT 'index', tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()`,
			`SELECT 'trigger', tgrelid::regclass::text, tgname, pg_get_triggerdef(oid)
			   FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = current_schema()::regnamespace)`,
			`SELECT 'function', proname, pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace`,
		} {
			lines = append(lines, queryStrings(t, db, q, schema)...)
		}
	}
	slices.Sort(lines)
	return lines
}

// queryStrings runs q and returns each row's columns joined by " | ", with
// schema (when not empty) replaced by a placeholder.
func queryStrings(t *testing.T, db *sql.DB, q, schema string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			parts[i] = fmt.Sprint(v)
		}
		line := strings.Join(parts, " | ")
		if schema != "" {
			line = strings.ReplaceAll(line, schema+".", "<schema>.")
			line = strings.ReplaceAll(line, schema, "<schema>")
		}
		out = append(out, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
