package store

import (
	"context"
	"database/sql"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// DefaultTimeout bounds a PostgreSQL call when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// openPostgres opens a PostgreSQL handle whose every call is bounded by
// timeout, so a frozen or overloaded server gives an error in about that
// time instead of a hang:
//
//   - the server cancels a statement running longer (statement_timeout), a
//     wait for a lock (lock_timeout), and a transaction left idle
//     (idle_in_transaction_session_timeout), unless the URL sets them;
//   - connecting gives up after it (connect_timeout, unless the URL sets it);
//   - every read and write on the connection gives up after it (a frozen
//     server accepts TCP but never answers, and nothing else notices), the
//     floor under statements run inside transactions;
//   - each call made outside a transaction carries a context deadline
//     (pool.go), which also bounds the wait for a free connection.
//
// io lets Migrate lift the network bound while schema changes run.
func openPostgres(databaseURL string, timeout time.Duration, unsynced bool) (*sql.DB, *ioDeadline, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, nil, err
	}
	if unsynced {
		cfg.RuntimeParams["synchronous_commit"] = "off" // Options.Unsynced
	}
	ms := strconv.FormatInt(timeout.Milliseconds(), 10)
	for name, value := range map[string]string{
		"statement_timeout":                   ms,
		"lock_timeout":                        ms,
		"idle_in_transaction_session_timeout": strconv.FormatInt((6 * timeout).Milliseconds(), 10),
	} {
		if _, set := cfg.RuntimeParams[name]; !set {
			cfg.RuntimeParams[name] = value
		}
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = timeout
	}
	// The network bound leaves the server's own timeouts a second to
	// answer first, with an error that keeps the connection usable.
	io := &ioDeadline{timeout: timeout + time.Second}
	dial := cfg.DialFunc
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &deadlineConn{Conn: c, io: io}, nil
	}
	return stdlib.OpenDB(*cfg), io, nil
}

// ioDeadline is how long one read or write on a PostgreSQL connection may
// wait, unless lifted.
type ioDeadline struct {
	timeout time.Duration
	lifted  atomic.Int32
}

// lift removes the bound until the returned function restores it.
func (d *ioDeadline) lift() (restore func()) {
	if d == nil {
		return func() {}
	}
	d.lifted.Add(1)
	return func() { d.lifted.Add(-1) }
}

// deadlineConn bounds each Read and Write by io's timeout. A deadline that
// pgx sets itself (to interrupt a call whose context ended) is kept when it
// is earlier.
type deadlineConn struct {
	net.Conn
	io *ioDeadline

	mu            sync.Mutex
	read, written time.Time // deadlines set by the connection's user
}

func (c *deadlineConn) effective(set time.Time) time.Time {
	if c.io.lifted.Load() > 0 {
		return set
	}
	bound := time.Now().Add(c.io.timeout)
	if !set.IsZero() && set.Before(bound) {
		return set
	}
	return bound
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	c.mu.Lock()
	err := c.Conn.SetReadDeadline(c.effective(c.read))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	err := c.Conn.SetWriteDeadline(c.effective(c.written))
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return c.Conn.Write(b)
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read, c.written = t, t
	return c.Conn.SetDeadline(c.effective(t))
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read = t
	return c.Conn.SetReadDeadline(c.effective(t))
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.written = t
	return c.Conn.SetWriteDeadline(c.effective(t))
}
