// Package store keeps Gatehouse's data in SQL: the embedded SQLite by
// default, PostgreSQL when DATABASE_URL points at one. One implementation
// over database/sql serves both engines; the few differences live in the
// dialect and in the migration steps that need an engine variant.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Engine names a database engine.
type Engine string

// The supported engines.
const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// SQLiteFile is the database file's name inside the data directory.
const SQLiteFile = "gatehouse.db"

// Options say which database to open.
type Options struct {
	// DatabaseURL selects PostgreSQL when set (postgres://…).
	DatabaseURL string
	// DataDir holds the SQLite file when DatabaseURL is empty.
	DataDir string
	// MaxConns bounds PostgreSQL connections (and SQLite readers); 0 means 16.
	MaxConns int
	// Timeout bounds every PostgreSQL call (see openPostgres); 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Unsynced, for throwaway test databases only, lets commits return
	// before they reach the disk (SQLite synchronous=OFF, PostgreSQL
	// synchronous_commit=off). A crash of the process still loses
	// nothing; a crash of the machine may. No configuration sets it.
	Unsynced bool
}

// Store is Gatehouse's database. It is safe for concurrent use.
type Store struct {
	engine Engine
	// write serialises SQLite writes through one connection, so concurrent
	// requests queue instead of failing with "database is locked". For
	// PostgreSQL write and read are the same pool.
	write *pool
	read  *pool

	rebound sync.Map // query text with ? → PostgreSQL's $n form

	// events group-commits event inserts.
	events *eventCommitter
	// eventCopyConflicts counts groups of events whose COPY met a stored
	// uuid and were written again skipping duplicates (groupcommit.go).
	eventCopyConflicts atomic.Int64
	// listen keeps the auth generation in memory on PostgreSQL, by
	// LISTEN/NOTIFY under a lease (pglisten.go); nil on SQLite.
	listen *genListener
	// pgGen reads the auth generation on PostgreSQL over a connection of
	// its own (pggen.go) while listen cannot answer; nil on SQLite.
	pgGen *pgGeneration
	// wal tells, on SQLite, whether anything has committed since the auth
	// generation was last read (walwatch.go); nil on PostgreSQL.
	wal *walWatch
	// io bounds each network wait on PostgreSQL (deadline.go); nil on
	// SQLite.
	io *ioDeadline
	// audit is the audit log's signer, stream and refusal writer (audit.go).
	audit auditLog
}

// Open connects to the database named by opts. It does not migrate: call
// Migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	maxConns := opts.MaxConns
	if maxConns <= 0 {
		maxConns = 16
	}
	if opts.DatabaseURL != "" {
		timeout := opts.Timeout
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		db, io, err := openPostgres(opts.DatabaseURL, timeout, opts.Unsynced)
		if err != nil {
			return nil, fmt.Errorf("store: DATABASE_URL is not a usable PostgreSQL URL: %w", redactURLError(err))
		}
		db.SetMaxOpenConns(maxConns)
		db.SetMaxIdleConns(maxConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
		// Reads and writes share one handle; the writer's pool waits, after
		// a write that may move the auth generation, for every instance
		// to acknowledge it (pglisten.go).
		read, write := newPool(db, false), newPool(db, false)
		read.timeout, write.timeout = timeout, timeout
		s := &Store{engine: Postgres, write: write, read: read, io: io}
		write.audited = s.execAudited
		write.awaitAuth = s.awaitAuthAcks
		if err := s.Ping(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("store: cannot connect to PostgreSQL: %w", redactURLError(err))
		}
		s.events = newEventCommitter(s)
		s.pgGen = newPGGeneration(opts.DatabaseURL)
		s.listen = newGenListener(opts.DatabaseURL)
		return s, nil
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("store: creating data directory: %w", err)
	}
	path := filepath.Join(opts.DataDir, SQLiteFile)
	synchronous := "FULL"
	if opts.Unsynced {
		synchronous = "OFF"
	}
	write, err := openSQLite(path, 1, synchronous)
	if err != nil {
		return nil, err
	}
	read, err := openSQLite(path, maxConns, synchronous)
	if err != nil {
		write.Close()
		return nil, err
	}
	s := &Store{engine: SQLite, write: newPool(write, true), read: newPool(read, true)}
	// Switching to WAL needs a write lock; do it once on the writer.
	if _, err := write.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: enabling WAL: %w", err)
	}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	s.events = newEventCommitter(s)
	s.write.audited = s.execAudited
	if w, err := openWalWatch(ctx, path); err == nil {
		s.wal = w
	} else {
		slog.Warn("store: the auth generation will be read from the database on every key request", "reason", err.Error())
	}
	return s, nil
}

// openSQLite opens the database at path. synchronous is FULL, which makes
// every commit durable (WAL fsync) before it returns, except in throwaway
// test databases (Options.Unsynced); busy_timeout covers other processes
// (the CLI) writing.
func openSQLite(path string, conns int, synchronous string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "foreign_keys(1)", "synchronous(" + synchronous + ")", "journal_mode(WAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: opening SQLite: %w", err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// redactURLError keeps a connection string's password out of error text,
// replacing it only when there is one (an empty password would otherwise
// be "found" between every two characters).
func redactURLError(err error) error {
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) && connErr.Config != nil && connErr.Config.Password != "" {
		return errors.New(strings.ReplaceAll(err.Error(), connErr.Config.Password, "[REDACTED]"))
	}
	return err
}

// Engine says which engine the store runs on.
func (s *Store) Engine() Engine { return s.engine }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if s.engine == SQLite {
		var one int
		return s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}
	return s.read.PingContext(ctx)
}

// Close releases the connections.
func (s *Store) Close() error {
	s.closeAudit()
	if s.events != nil {
		s.events.close()
	}
	if s.wal != nil {
		s.wal.close()
	}
	if s.listen != nil {
		s.listen.close()
	}
	if s.pgGen != nil {
		s.pgGen.close()
	}
	err := s.write.Close()
	if s.read.DB != s.write.DB {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// q adapts a query written with ? placeholders to the engine.
func (s *Store) q(query string) string {
	if s.engine != Postgres {
		return query
	}
	if v, ok := s.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	s.rebound.Store(query, b.String())
	return b.String()
}

// inTx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	// Audit events waiting on ctx commit with the change they describe.
	finish, err := s.takeAudit(ctx, tx)
	if err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		finish(false)
		return fmt.Errorf("store: commit: %w", mapErr(err))
	}
	finish(true)
	if s.write.awaitAuth != nil {
		s.write.awaitAuth(ctx) // any transaction may have moved the auth generation
	}
	return nil
}

// mapErr turns engine-specific constraint errors into gatehouse.ErrConflict
// and sql.ErrNoRows into gatehouse.ErrNotFound.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", gatehouse.ErrConflict, pgErr.ConstraintName)
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		switch sqliteErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %s", gatehouse.ErrConflict, sqliteErr.Error())
		}
	}
	return err
}

// DB is the write handle, for tests that must set up states the API cannot
// reach (an aged session). Production code never calls it.
func (s *Store) DB() *sql.DB { return s.write.DB }

// AuthGeneration is the counter that every change to authentication state
// moves (migration 0015): see gatehouse.GenerationSource.
func (s *Store) AuthGeneration(ctx context.Context) (int64, error) {
	if s.wal != nil {
		return s.wal.generation(ctx, s.readAuthGeneration)
	}
	if gen, ok := s.KnownAuthGeneration(); ok {
		return gen, nil
	}
	if s.pgGen != nil {
		if gen, ok := s.pgGen.read(ctx); ok {
			return gen, nil
		}
	}
	return s.readAuthGeneration(ctx)
}

// AwaitAuthChanges returns once every instance listening on this
// database has seen the auth generation as it is now (at most the lease
// later; pglisten.go). The store's own writes do this by themselves; call
// it after changing auth tables with SQL of one's own (DB), which would
// otherwise reach other instances, and this one, only when their
// notification arrives. SQLite needs no wait: every instance sees a
// commit on its next read.
func (s *Store) AwaitAuthChanges(ctx context.Context) {
	if s.engine == Postgres {
		s.awaitAuthAcks(ctx)
	}
}

// KnownAuthGeneration returns the auth generation and true when it is
// known without asking the database: on PostgreSQL while this instance's
// listener holds a lease (pglisten.go). It starts the listener on first
// use.
func (s *Store) KnownAuthGeneration() (int64, bool) {
	if s.listen == nil {
		return 0, false
	}
	return s.listen.generation()
}

func (s *Store) readAuthGeneration(ctx context.Context) (int64, error) {
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT value FROM auth_generation WHERE id = 1`).Scan(&v)
	return v, mapErr(err)
}

// appendRows appends every row of a query, read by scan, to out (nil or
// an empty slice, as the caller's answer for no rows should be) and
// closes the rows.
func appendRows[T any](out []T, rows *rows, err error, scan func(interface{ Scan(...any) error }) (*T, error)) ([]T, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, mapErr(rows.Err())
}
