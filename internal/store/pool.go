package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// maxCachedStatements bounds the prepared-statement cache: the store's
// queries are fixed texts, so this is never reached in practice, and a
// query beyond it simply runs unprepared.
const maxCachedStatements = 512

// pool is a database handle that keeps one prepared statement per query
// text. modernc's SQLite parses and plans an unprepared query on every
// call, which cost about a quarter of a key-authenticated request; a
// prepared *sql.Stmt is parsed once per connection and reused. PostgreSQL's
// driver (pgx) already caches statements per connection, so there the pool
// passes queries straight through.
type pool struct {
	*sql.DB
	cache bool
	// timeout, when set, bounds each call with a context deadline: the
	// wait for a connection, the query and the reading of its rows.
	timeout time.Duration

	mu    sync.RWMutex
	stmts map[string]*sql.Stmt

	// audited, when set, runs a statement whose context carries audit
	// events in one transaction with them (Store.execAudited).
	audited func(ctx context.Context, query string, args ...any) (sql.Result, error)

	// awaitAuth, when set (the PostgreSQL writer), runs after a statement
	// that may have moved the auth generation has committed, and after
	// every transaction (Store.inTx): it returns once every instance has
	// acknowledged the change (Store.awaitAuthAcks).
	awaitAuth func(ctx context.Context)
	movesAuth sync.Map // query text → bool, mayMoveAuthGeneration's answer
}

func newPool(db *sql.DB, cache bool) *pool {
	return &pool{DB: db, cache: cache, stmts: map[string]*sql.Stmt{}}
}

// stmt returns the prepared statement for query, preparing it on first
// use; nil when it is not cached (caching off, cache full, or prepare
// failed — the caller then runs the query directly, which reports the
// same error).
func (p *pool) stmt(ctx context.Context, query string) *sql.Stmt {
	if !p.cache {
		return nil
	}
	p.mu.RLock()
	st := p.stmts[query]
	n := len(p.stmts)
	p.mu.RUnlock()
	if st != nil || n >= maxCachedStatements {
		return st
	}
	// Prepare outside the lock: on SQLite's single write connection it may
	// wait for a transaction to finish.
	st, err := p.DB.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev := p.stmts[query]; prev != nil {
		st.Close()
		return prev
	}
	p.stmts[query] = st
	return st
}

// bound gives ctx the pool's deadline; cancel must run once the call's
// results are read.
func (p *pool) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if p.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, p.timeout)
}

// afterWrite returns what must run once query has committed: nil, or the
// wait for the auth generation's acknowledgement.
func (p *pool) afterWrite(ctx context.Context, query string) func() {
	if p.awaitAuth == nil {
		return nil
	}
	moves, ok := p.movesAuth.Load(query)
	if !ok {
		moves = mayMoveAuthGeneration(query)
		p.movesAuth.Store(query, moves)
	}
	if !moves.(bool) {
		return nil
	}
	return func() { p.awaitAuth(ctx) }
}

// row is a *sql.Row whose deadline ends when it is scanned.
type row struct {
	*sql.Row
	cancel context.CancelFunc
	after  func() // see pool.afterWrite
}

// Scan copies the row's columns into dest and releases its deadline.
func (r row) Scan(dest ...any) error {
	defer r.cancel()
	err := r.Row.Scan(dest...)
	if r.after != nil && (err == nil || errors.Is(err, sql.ErrNoRows)) {
		r.after() // the statement ran (and committed), even without a row
	}
	return err
}

// rows are *sql.Rows whose deadline ends when they are closed.
type rows struct {
	*sql.Rows
	cancel context.CancelFunc
	after  func() // see pool.afterWrite
}

// Close closes the rows and releases their deadline.
func (r *rows) Close() error {
	defer r.cancel()
	err := r.Rows.Close()
	if r.after != nil && err == nil && r.Rows.Err() == nil {
		r.after()
		r.after = nil
	}
	return err
}

// QueryRowContext runs a query expected to return at most one row.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) row {
	after := p.afterWrite(ctx, query)
	ctx, cancel := p.bound(ctx)
	if st := p.stmt(ctx, query); st != nil {
		return row{st.QueryRowContext(ctx, args...), cancel, after}
	}
	return row{p.DB.QueryRowContext(ctx, query, args...), cancel, after}
}

// QueryContext runs a query that returns rows; the caller closes them.
func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*rows, error) {
	ctx, cancel := p.bound(ctx)
	var (
		rs  *sql.Rows
		err error
	)
	if st := p.stmt(ctx, query); st != nil {
		rs, err = st.QueryContext(ctx, args...)
	} else {
		rs, err = p.DB.QueryContext(ctx, query, args...)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	return &rows{rs, cancel, p.afterWrite(ctx, query)}, nil
}

// ExecContext runs a statement that returns no rows.
func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := p.exec(ctx, query, args...)
	if err == nil {
		if after := p.afterWrite(ctx, query); after != nil {
			after()
		}
	}
	return res, err
}

func (p *pool) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx, cancel := p.bound(ctx)
	defer cancel()
	if p.audited != nil && gatehouse.HasAuditEvents(ctx) {
		return p.audited(ctx, query, args...)
	}
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.DB.ExecContext(ctx, query, args...)
}

// Close closes the cached statements, then the database.
func (p *pool) Close() error {
	p.mu.Lock()
	for q, st := range p.stmts {
		st.Close()
		delete(p.stmts, q)
	}
	p.mu.Unlock()
	return p.DB.Close()
}
