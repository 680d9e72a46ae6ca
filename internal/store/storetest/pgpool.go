package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// PostgreSQL schemas are reused. Creating a schema and running every
// migration in it costs PostgreSQL about a fifth of a second of CPU, and
// dropping it again more; hundreds of tests each doing both spent more of
// the machine on DDL than on the tests. So Open takes a migrated schema
// from this process's pool, and the test's cleanup empties it (every row
// deleted, identities restarted, the seed row put back: what a fresh
// migration leaves) and returns it. A schema whose definition a test
// changed is dropped instead of returned.
//
// Pooled schemas are named gh_pool_<owner>_<n>. The owner is this process,
// which holds an advisory lock on its name for as long as it runs; the
// schemas of an owner whose lock is free (its process has ended) are
// dropped by the next process that opens its pool.
var pgPool pgPoolState

type pgPoolState struct {
	mu    sync.Mutex
	init  bool
	err   error
	admin *sql.DB   // for creating, emptying and dropping schemas
	alive *sql.Conn // holds the owner's advisory lock
	base  *url.URL
	owner string
	n     int
	free  []string
	// reset empties a migrated schema (run with search_path set to it);
	// shape is the fingerprint of a freshly migrated schema's definition.
	reset string
	shape string
}

// pgPoolLockClass is the first key of the owners' advisory locks, apart
// from the keys the store itself locks on.
const pgPoolLockClass = 7291100

// pgSchema returns the URL of a schema for one test, and done, which
// returns the schema to the pool once the test's stores are closed. The
// schema is migrated, or new and empty when the pool had none free (the
// caller migrates it either way).
func pgSchema(t testing.TB) (schemaURL string, done func(), err error) {
	base := testenv.PostgresURL(t)
	pgPool.mu.Lock()
	defer pgPool.mu.Unlock()
	if !pgPool.init {
		pgPool.init = true
		pgPool.err = openPGPool(base)
	}
	if pgPool.err != nil {
		return "", nil, pgPool.err
	}
	var schema string
	if n := len(pgPool.free); n > 0 {
		schema, pgPool.free = pgPool.free[n-1], pgPool.free[:n-1]
	} else {
		if schema, err = newPooledSchema(); err != nil {
			return "", nil, err
		}
	}
	return pgPool.url(schema), func() { releaseSchema(schema) }, nil
}

func newPooledSchema() (string, error) {
	pgPool.n++
	schema := fmt.Sprintf("gh_pool_%s_%d", pgPool.owner, pgPool.n)
	_, err := pgPool.admin.Exec("CREATE SCHEMA " + schema)
	return schema, err
}

// openPGPool connects, takes this process's owner lock, drops the pooled
// schemas of processes that have ended, and migrates a first schema, from
// which it learns how to empty the others.
func openPGPool(base string) error {
	u, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("GATEHOUSE_TEST_DATABASE_URL: %w", err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return err
	}
	ctx := context.Background()
	alive, err := admin.Conn(ctx)
	if err != nil {
		admin.Close()
		return err
	}
	b := make([]byte, 5)
	rand.Read(b)
	owner := hex.EncodeToString(b)
	if _, err := alive.ExecContext(ctx, "SELECT pg_advisory_lock($1, hashtext($2))", pgPoolLockClass, owner); err != nil {
		alive.Close()
		admin.Close()
		return err
	}
	pgPool.base, pgPool.admin, pgPool.alive, pgPool.owner = u, admin, alive, owner
	sweepPGPool(ctx)
	first, err := newPooledSchema()
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, store.Options{DatabaseURL: pgPool.url(first), Unsynced: true})
	if err != nil {
		return err
	}
	_, err = st.Migrate(ctx)
	st.Close()
	if err != nil {
		return err
	}
	tx, err := admin.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL search_path = "+first); err != nil {
		return err
	}
	if pgPool.reset, pgPool.shape, err = resetSQL(ctx, tx); err != nil {
		return err
	}
	pgPool.free = append(pgPool.free, first)
	return nil
}

// url is the test database's URL with schema as its search path.
func (p *pgPoolState) url(schema string) string {
	u := *p.base
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// sweepPGPool drops the pooled schemas of owners that no longer run.
func sweepPGPool(ctx context.Context) {
	rows, err := pgPool.admin.QueryContext(ctx, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'gh\_pool\_%'`)
	if err != nil {
		return
	}
	byOwner := map[string][]string{}
	for rows.Next() {
		var name string
		if rows.Scan(&name) == nil {
			parts := strings.Split(name, "_") // gh, pool, owner, n
			if len(parts) == 4 && parts[2] != pgPool.owner {
				byOwner[parts[2]] = append(byOwner[parts[2]], name)
			}
		}
	}
	rows.Close()
	for owner, schemas := range byOwner {
		var free bool
		// On the held connection: a lock it takes here it releases below.
		if err := pgPool.alive.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", pgPoolLockClass, owner).Scan(&free); err != nil || !free {
			continue // still running (or cannot tell)
		}
		for _, s := range schemas {
			pgPool.admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+s+" CASCADE")
		}
		pgPool.alive.ExecContext(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", pgPoolLockClass, owner)
	}
}

// schemaShape fingerprints the definition of the schema in search_path:
// its tables, indexes and sequences with their columns and types, its
// triggers and functions, and the migrations it records.
const schemaShape = `SELECT md5(concat_ws('|',
  (SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull, ',' ORDER BY c.relname, a.attnum)
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT string_agg(c.relname || '.' || tg.tgname || ':' || md5(pg_get_triggerdef(tg.oid)), ',' ORDER BY c.relname, tg.tgname)
     FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid
    WHERE c.relnamespace = current_schema()::regnamespace AND NOT tg.tgisinternal),
  (SELECT string_agg(p.proname || ':' || md5(p.prosrc), ',' ORDER BY p.proname)
     FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace),
  (SELECT string_agg(conname || ':' || md5(pg_get_constraintdef(oid)), ',' ORDER BY conname)
     FROM pg_constraint WHERE connamespace = current_schema()::regnamespace),
  (SELECT string_agg(version::text, ',' ORDER BY version) FROM gatehouse_migrations)))`

// resetSQL builds the statements that empty a migrated schema (the one in
// search_path) back to how migrating left the one it reads now, and
// fingerprints its shape.
func resetSQL(ctx context.Context, tx *sql.Tx) (reset, shape string, err error) {
	names := func(query string) ([]string, error) {
		rows, err := tx.QueryContext(ctx, query)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, rows.Err()
	}
	tables, err := names(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'gatehouse_migrations' ORDER BY tablename`)
	if err != nil {
		return "", "", err
	}
	seqs, err := names(`SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() ORDER BY sequencename`)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	// As a replica, PostgreSQL fires no triggers and checks no foreign
	// keys: the tables empty in any order and nothing counts the deletes.
	b.WriteString("SET LOCAL session_replication_role = replica;\n")
	for _, tb := range tables {
		fmt.Fprintf(&b, "DELETE FROM %s;\n", tb)
	}
	// The rows migrating left (seed rows such as the auth generation's)
	// go back as they were.
	for _, tb := range tables {
		seeds, err := names("SELECT row_to_json(t)::text FROM " + tb + " t")
		if err != nil {
			return "", "", err
		}
		for _, row := range seeds {
			fmt.Fprintf(&b, "INSERT INTO %s SELECT * FROM json_populate_record(NULL::%s, '%s');\n", tb, tb, strings.ReplaceAll(row, "'", "''"))
		}
	}
	for _, sq := range seqs {
		var last int64
		var called bool
		if err := tx.QueryRowContext(ctx, "SELECT last_value, is_called FROM "+sq).Scan(&last, &called); err != nil {
			return "", "", err
		}
		fmt.Fprintf(&b, "SELECT setval('%s', %d, %t);\n", sq, last, called)
	}
	if err := tx.QueryRowContext(ctx, schemaShape).Scan(&shape); err != nil {
		return "", "", err
	}
	return b.String(), shape, nil
}

// releaseSchema empties schema and returns it to the pool; a schema that
// cannot be emptied, or whose definition a test changed, is dropped.
func releaseSchema(schema string) {
	ctx := context.Background()
	ok := func() bool {
		tx, err := pgPool.admin.BeginTx(ctx, nil)
		if err != nil {
			return false
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "SET LOCAL search_path = "+schema); err != nil {
			return false
		}
		var shape string
		if err := tx.QueryRowContext(ctx, schemaShape).Scan(&shape); err != nil || shape != pgPool.shape {
			return false
		}
		if _, err := tx.ExecContext(ctx, pgPool.reset); err != nil {
			return false
		}
		return tx.Commit() == nil
	}()
	pgPool.mu.Lock()
	defer pgPool.mu.Unlock()
	if ok {
		pgPool.free = append(pgPool.free, schema)
		return
	}
	pgPool.admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
}
