package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// PostgreSQL schemas are reused. Creating a schema and running every
// migration in it costs PostgreSQL about a quarter of a second of CPU, and
// every other connection then digests the catalog changes; hundreds of
// tests each doing both spent more of the machine on DDL than on the
// tests. So Open takes a migrated schema from this process's pool, and the
// test's cleanup empties it (every row deleted, identities restarted, the
// seed rows put back: what a fresh migration leaves) and returns it. A
// schema whose definition a test changed is dropped instead of returned.
//
// Pooled schemas are named gh_pool_<owner>_<n>. The owner is this process,
// which holds an advisory lock on its name for as long as it runs. When
// its pool has no free schema, a process adopts one left by a process that
// has ended (its owner's lock is free): it renames it, checks its
// definition against those fresh migrations produced (table
// gh_testpool.kinds: a definition's fingerprint and the statements that empty
// such a schema, recorded by the process that migrated it), empties it and
// vacuums it. A left schema whose definition no fresh migration produced
// (older migrations, or a test's changes) is dropped. Only when there is
// nothing to adopt does a process create and migrate a schema. So schemas
// outlive the processes, and a run of the whole suite migrates a handful
// instead of one per test process and pool slot.
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
	// kinds holds, for each schema of this process, how to empty it and
	// the fingerprint of its definition when it was handed out.
	kinds map[string]schemaKind
	// adopting serialises adoptions and sweeps within the process: they
	// share the held connection, whose advisory locks are re-entrant.
	adopting sync.Mutex
}

// schemaKind is how to empty a migrated schema (run with search_path set
// to it) and the fingerprint of its definition.
type schemaKind struct{ reset, shape string }

// pgPoolKeep bounds the schemas of ended processes kept for adoption;
// opening a pool drops the rest.
const pgPoolKeep = 24

// pgPoolLockClass is the first key of the owners' advisory locks, apart
// from the keys the store itself locks on.
const pgPoolLockClass = 7291100

// pgSchema returns the URL of a migrated, empty schema for one test, and
// done, which returns the schema to the pool once the test's stores are
// closed.
func pgSchema(t testing.TB) (schemaURL string, done func(), err error) {
	base := testenv.PostgresURL(t)
	pgPool.mu.Lock()
	if !pgPool.init {
		pgPool.init = true
		pgPool.err = openPGPool(base)
	}
	if pgPool.err != nil {
		pgPool.mu.Unlock()
		return "", nil, pgPool.err
	}
	var schema string
	if n := len(pgPool.free); n > 0 {
		schema, pgPool.free = pgPool.free[n-1], pgPool.free[:n-1]
	}
	pgPool.mu.Unlock()
	ctx := context.Background()
	for attempt := 0; schema == "" && attempt < 4; attempt++ {
		var more bool
		if schema, more = adoptSchema(ctx); !more {
			break
		}
	}
	if schema == "" {
		if schema, err = freshSchema(ctx); err != nil {
			return "", nil, err
		}
	}
	return pgPool.url(schema), func() { releaseSchema(schema) }, nil
}

// nextName names this process's next pooled schema.
func nextName() string {
	pgPool.mu.Lock()
	defer pgPool.mu.Unlock()
	pgPool.n++
	return fmt.Sprintf("gh_pool_%s_%d", pgPool.owner, pgPool.n)
}

// setKind records how to empty schema.
func setKind(schema string, k schemaKind) {
	pgPool.mu.Lock()
	defer pgPool.mu.Unlock()
	pgPool.kinds[schema] = k
}

// freshSchema creates and migrates a schema, learns how to empty it from
// its freshly migrated state, and records that for adopters.
func freshSchema(ctx context.Context) (string, error) {
	schema := nextName()
	if _, err := pgPool.admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", err
	}
	if err := migrateSchema(ctx, schema); err != nil {
		return "", err
	}
	var k schemaKind
	if err := inSchema(ctx, schema, func(tx *sql.Tx) (err error) {
		k.reset, k.shape, err = resetSQL(ctx, tx)
		return err
	}); err != nil {
		return "", err
	}
	// Best effort: without the record, adopters drop such schemas.
	pgPool.admin.ExecContext(ctx, "INSERT INTO gh_testpool.kinds (shape, reset) VALUES ($1, $2) ON CONFLICT (shape) DO NOTHING", k.shape, k.reset)
	setKind(schema, k)
	return schema, nil
}

// adoptSchema takes a schema an ended process left, renamed into this
// process's pool and emptied. It returns "" and more = false when there is
// none left to try, and "" and more = true when the one it took could not
// be used (it is dropped).
func adoptSchema(ctx context.Context) (schema string, more bool) {
	pgPool.adopting.Lock()
	owner, left := endedOwner(ctx)
	if left == "" {
		pgPool.adopting.Unlock()
		return "", false
	}
	schema = nextName()
	_, err := pgPool.admin.ExecContext(ctx, "ALTER SCHEMA "+left+" RENAME TO "+schema)
	unlockOwner(ctx, owner)
	pgPool.adopting.Unlock()
	if err != nil {
		return "", true
	}
	if !emptyAdopted(ctx, schema) {
		dropSchema(ctx, schema)
		return "", true
	}
	return schema, true
}

// endedSchemas lists the pooled schemas of other owners, by owner.
func endedSchemas(ctx context.Context) map[string][]string {
	names, _ := column(ctx, pgPool.admin, `SELECT nspname FROM pg_namespace WHERE nspname LIKE 'gh\_pool\_%' ORDER BY nspname`)
	byOwner := map[string][]string{}
	for _, name := range names {
		parts := strings.Split(name, "_") // gh, pool, owner, n
		if len(parts) == 4 && parts[2] != pgPool.owner {
			byOwner[parts[2]] = append(byOwner[parts[2]], name)
		}
	}
	return byOwner
}

// lockEnded takes owner's lock on the held connection if its process has
// ended, and reports whether it did.
func lockEnded(ctx context.Context, owner string) bool {
	var free bool
	err := pgPool.alive.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1, hashtext($2))", pgPoolLockClass, owner).Scan(&free)
	return err == nil && free
}

// unlockOwner releases owner's lock, taken by lockEnded.
func unlockOwner(ctx context.Context, owner string) {
	pgPool.alive.ExecContext(ctx, "SELECT pg_advisory_unlock($1, hashtext($2))", pgPoolLockClass, owner)
}

// dropSchema drops a pooled schema and everything in it.
func dropSchema(ctx context.Context, schema string) {
	pgPool.admin.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
}

// endedOwner finds a schema left by an ended process and returns holding
// its owner's lock (the caller releases it); "" when there is none.
func endedOwner(ctx context.Context) (owner, schema string) {
	for o, schemas := range endedSchemas(ctx) {
		if lockEnded(ctx, o) {
			return o, schemas[0]
		}
	}
	return "", ""
}

// emptyAdopted migrates an adopted schema, checks its definition against
// those fresh migrations recorded, empties it with the statements recorded
// for its definition, and vacuums its tables (emptied by DELETE, run after run,
// and autovacuum may be off).
func emptyAdopted(ctx context.Context, schema string) bool {
	// Migrations added since it was left apply now, so that what is
	// checked below is the definition the test will use.
	if err := migrateSchema(ctx, schema); err != nil {
		return false
	}
	var k schemaKind
	if err := inSchema(ctx, schema, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, schemaShape).Scan(&k.shape); err != nil {
			return err
		}
		// No row: no fresh migration produced this definition.
		if err := tx.QueryRowContext(ctx, "SELECT reset FROM gh_testpool.kinds WHERE shape = $1", k.shape).Scan(&k.reset); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, k.reset)
		return err
	}); err != nil {
		return false
	}
	tables, err := column(ctx, pgPool.admin, "SELECT tablename FROM pg_tables WHERE schemaname = $1", schema)
	if err != nil {
		return false
	}
	for _, n := range tables {
		pgPool.admin.ExecContext(ctx, "VACUUM "+schema+"."+n)
	}
	setKind(schema, k)
	return true
}

// openPGPool connects, takes this process's owner lock, makes sure the
// table of recorded definitions exists, and drops the schemas of ended
// processes beyond pgPoolKeep.
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
	pgPool.kinds = map[string]schemaKind{}
	// In a schema of its own, which needs only the right to create
	// schemas that the pool needs anyway (not the public schema's, which
	// PostgreSQL 15 no longer grants everyone). Two processes may create
	// them at once, and one of them then fails; the second try finds them.
	const kinds = `CREATE SCHEMA IF NOT EXISTS gh_testpool; CREATE TABLE IF NOT EXISTS gh_testpool.kinds (shape TEXT PRIMARY KEY, reset TEXT NOT NULL)`
	if _, err := admin.ExecContext(ctx, kinds); err != nil {
		if _, err := admin.ExecContext(ctx, kinds); err != nil {
			return err
		}
	}
	sweepPGPool(ctx)
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

// sweepPGPool drops the pooled schemas of owners that no longer run,
// beyond the pgPoolKeep that later processes may adopt.
func sweepPGPool(ctx context.Context) {
	pgPool.adopting.Lock()
	defer pgPool.adopting.Unlock()
	var ended []string
	for owner, schemas := range endedSchemas(ctx) {
		if lockEnded(ctx, owner) { // held until the drops are done
			defer unlockOwner(ctx, owner)
			ended = append(ended, schemas...)
		}
	}
	for len(ended) > pgPoolKeep {
		dropSchema(ctx, ended[0])
		ended = ended[1:]
	}
}

// schemaShape fingerprints the definition of the schema in search_path:
// its tables, indexes and sequences with their columns and types, its
// triggers and functions, and the migrations it records; not its name
// (which PostgreSQL writes into each trigger's definition), so that two
// schemas migrated alike match.
const schemaShape = `SELECT md5(concat_ws('|',
  (SELECT string_agg(c.relname || '.' || a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull, ',' ORDER BY c.relname, a.attnum)
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT string_agg(c.relname || '.' || tg.tgname || ':' || md5(replace(pg_get_triggerdef(tg.oid), current_schema() || '.', '')), ',' ORDER BY c.relname, tg.tgname)
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
	names := func(query string) ([]string, error) { return column(ctx, tx, query) }
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
	pgPool.mu.Lock()
	k := pgPool.kinds[schema]
	pgPool.mu.Unlock()
	ok := inSchema(ctx, schema, func(tx *sql.Tx) error {
		var shape string
		if err := tx.QueryRowContext(ctx, schemaShape).Scan(&shape); err != nil {
			return err
		}
		if shape != k.shape {
			return errChangedDefinition
		}
		_, err := tx.ExecContext(ctx, k.reset)
		return err
	}) == nil
	pgPool.mu.Lock()
	if ok {
		pgPool.free = append(pgPool.free, schema)
	} else {
		delete(pgPool.kinds, schema)
	}
	pgPool.mu.Unlock()
	if !ok {
		dropSchema(ctx, schema) // outside the lock: other tests need not wait for it
	}
}

// errChangedDefinition fails the release of a schema whose definition a
// test changed.
var errChangedDefinition = errors.New("storetest: the schema's definition changed")

// inSchema runs fn in a transaction whose search path is schema, and
// commits if fn returns nil.
func inSchema(ctx context.Context, schema string, fn func(tx *sql.Tx) error) error {
	tx, err := pgPool.admin.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL search_path = "+schema); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// migrateSchema applies every migration schema lacks.
func migrateSchema(ctx context.Context, schema string) error {
	st, err := store.Open(ctx, store.Options{DatabaseURL: pgPool.url(schema), Unsynced: true})
	if err != nil {
		return err
	}
	defer st.Close()
	_, err = st.Migrate(ctx)
	return err
}

// column runs a query that returns one text column and returns its values.
func column(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
