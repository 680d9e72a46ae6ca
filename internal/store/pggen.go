package store

import (
	"context"
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgGeneration reads the auth generation on PostgreSQL over a connection
// of its own, outside database/sql, with a statement prepared once and a
// binary answer decoded by hand. Every key-authenticated request needs
// the counter as of its arrival, so each (shared) read must reach the
// database; this keeps what a read costs the process to one round trip
// and a few allocations, where database/sql and pgx's type layer cost
// several times the round trip itself.
//
// A read sees every transaction committed before it started, exactly as
// a read through the pool does: the statement runs on its own, with a
// fresh snapshot. The connection serves one read at a time; a read that
// finds it busy, broken or not yet connected goes through the pool
// instead, so this only ever changes how fast the answer comes.
type pgGeneration struct {
	config *pgconn.Config

	mu      sync.Mutex // held by the read using conn
	conn    *pgconn.PgConn
	retryAt time.Time // no new connection before this, after a failure
	closed  bool
}

// pgGenerationStatement names the prepared read on the dedicated connection.
const pgGenerationStatement = "gatehouse_auth_generation"

// pgGenerationRetry is how long a failed connection waits before the next
// attempt; meanwhile reads go through the pool.
const pgGenerationRetry = time.Second

// pgGenerationConnectTimeout bounds connecting (and preparing) in the path
// of a request.
const pgGenerationConnectTimeout = 2 * time.Second

// pgGenerationReadTimeout bounds one read, as a deadline on the socket
// (cheaper than a cancellable context, which costs pgconn a goroutine per
// query); a read that times out drops the connection.
const pgGenerationReadTimeout = 5 * time.Second

// errBadGeneration reports an answer that is not one int8.
var errBadGeneration = errors.New("store: unexpected auth generation answer")

// newPGGeneration prepares the reader for the database at connString
// (as given to the pgx driver); nil when it cannot be parsed.
func newPGGeneration(connString string) *pgGeneration {
	cfg, err := pgx.ParseConfig(connString) // drops pgx's own settings from the startup parameters
	if err != nil {
		return nil
	}
	return &pgGeneration{config: &cfg.Config}
}

// read returns the generation and true, or false when the caller must read
// it through the pool.
func (g *pgGeneration) read(ctx context.Context) (int64, bool) {
	if !g.mu.TryLock() {
		return 0, false
	}
	defer g.mu.Unlock()
	if g.closed {
		return 0, false
	}
	if g.conn == nil {
		if time.Now().Before(g.retryAt) || !g.connect(ctx) {
			return 0, false
		}
	}
	gen, err := g.query()
	if err != nil {
		// A broken connection, a cancelled read or a changed table: start
		// over with a new connection later.
		g.dropConn()
		return 0, false
	}
	return gen, true
}

func (g *pgGeneration) query() (int64, error) {
	if err := g.conn.Conn().SetDeadline(time.Now().Add(pgGenerationReadTimeout)); err != nil {
		return 0, err
	}
	res := g.conn.ExecPrepared(context.Background(), pgGenerationStatement, nil, nil, []int16{pgx.BinaryFormatCode}).Read()
	if res.Err != nil {
		return 0, res.Err
	}
	if len(res.Rows) != 1 || len(res.Rows[0]) != 1 || len(res.Rows[0][0]) != 8 {
		return 0, errBadGeneration
	}
	return int64(binary.BigEndian.Uint64(res.Rows[0][0])), nil
}

// connect opens and prepares the connection; on failure it schedules the
// next attempt.
func (g *pgGeneration) connect(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pgGenerationConnectTimeout)
	defer cancel()
	conn, err := pgconn.ConnectConfig(ctx, g.config)
	if err == nil {
		var sd *pgconn.StatementDescription
		sd, err = conn.Prepare(ctx, pgGenerationStatement, `SELECT value FROM auth_generation WHERE id = 1`, nil)
		if err == nil && (len(sd.Fields) != 1 || sd.Fields[0].DataTypeOID != 20) { // int8
			err = errBadGeneration
		}
		if err != nil {
			conn.Close(ctx)
		}
	}
	if err != nil {
		g.retryAt = time.Now().Add(pgGenerationRetry)
		return false
	}
	g.conn = conn
	return true
}

func (g *pgGeneration) dropConn() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	g.conn.Close(ctx)
	cancel()
	g.conn = nil
	g.retryAt = time.Now().Add(pgGenerationRetry)
}

func (g *pgGeneration) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	if g.conn != nil {
		g.dropConn()
	}
}
