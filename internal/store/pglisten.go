package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// On PostgreSQL an instance learns of auth changes by LISTEN/NOTIFY instead
// of reading the auth generation on every key-authenticated request, and
// keeps the guarantee that a read did: once a write that moved the
// generation has returned to its caller, no instance serves a request that
// starts afterwards under an older generation (docs/SECURITY.md).
//
// Lease and acknowledgement (migration 0020):
//
//   - Each listening instance has a row in auth_generation_listeners: the
//     highest generation it has acknowledged, and a lease that it renews
//     every genRenewEvery. A notification makes it read the generation
//     from the database (the payload's number is not believed); it
//     acknowledges a generation only once it answers with it (the value
//     is in memory first).
//   - It answers from memory only until genLease-genTrustMargin after it
//     sent its last renewal, and only with the generation it read after
//     that renewal had committed. Any error ends that trust at once; then
//     it reads the database for each request, as before, until it has
//     reconnected and renewed.
//   - A write that may have moved the generation returns only once no
//     listener holds a live lease with an older acknowledgement, or once
//     genLease has passed since its commit. In the second case every
//     listener that did not acknowledge has stopped answering from memory:
//     its trust ended before its lease, unless it renewed after the commit,
//     and a renewal after the commit read the new generation.
//
// A write made outside Gatehouse (psql) does not wait: instances see it
// when its notification arrives, at the latest after genLease.

// genLease is how long a listener's renewal lets it answer from memory
// (less genTrustMargin), and the longest a write waits for a listener that
// does not acknowledge (one that died or lost its connection).
const genLease = 3 * time.Second

// genTrustMargin is how much earlier than its lease a listener stops
// trusting its memory, for clock drift and scheduling.
const genTrustMargin = 500 * time.Millisecond

// genRenewEvery is how often a listener renews its lease.
const genRenewEvery = genLease / 3

// genListenIOTimeout bounds each statement on the listener's connection.
const genListenIOTimeout = genRenewEvery

// genListenChannel is the notification channel bump_auth_generation
// notifies, with the payload "<schema> <generation>".
const genListenChannel = "gatehouse_auth_generation"

// genListenRetry bounds the wait between connection attempts.
const (
	genListenRetryMin = 100 * time.Millisecond
	genListenRetryMax = 5 * time.Second
)

// genListenerRetention is how long a listener's row outlives its lease
// before a registering listener deletes it (an instance that crashed).
const genListenerRetention = "1 hour"

var errListenerGone = errors.New("store: auth generation listener row is gone")

// genListener keeps the auth generation in memory on PostgreSQL over a
// connection of its own (see the comment above genLease). It starts on
// the first generation read, so commands that never serve requests do not
// register.
type genListener struct {
	config *pgconn.Config
	id     string    // instance_id, random per store
	base   time.Time // origin of trustUntil, on the monotonic clock

	known      atomic.Int64 // highest generation read; never decreases
	poked      atomic.Bool  // a notification came: read the generation
	trustUntil atomic.Int64 // time since base until which known may be served; 0: none
	pid        atomic.Uint32

	// schema is the listener's current_schema(); only its goroutine uses it.
	schema string

	// hold is a test hook: while held, the listener stops at its next
	// step, and says so in paused.
	hold   sync.Mutex
	paused atomic.Bool

	started atomic.Bool

	mu      sync.Mutex
	closed  bool
	waiting *pgconn.PgConn // the connection while it waits for a notification
	stop    chan struct{}
	done    chan struct{}
}

// newGenListener prepares the listener for the database at connString;
// nil when it cannot be parsed.
func newGenListener(connString string) *genListener {
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		return nil
	}
	var id [12]byte
	rand.Read(id[:])
	l := &genListener{
		config: &cfg.Config,
		id:     hex.EncodeToString(id[:]),
		base:   time.Now(),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	l.config.OnNotification = l.notified
	return l
}

// generation returns the generation in memory and true while the listener
// may answer with it.
func (l *genListener) generation() (int64, bool) {
	if !l.started.Load() {
		l.start()
		return 0, false
	}
	until := l.trustUntil.Load()
	if until == 0 || int64(time.Since(l.base)) >= until {
		return 0, false
	}
	return l.known.Load(), true
}

func (l *genListener) start() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started.Load() || l.closed {
		return
	}
	l.started.Store(true)
	go l.run()
}

// close stops the listener and removes its row.
func (l *genListener) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	close(l.stop)
	if l.waiting != nil {
		l.waiting.Conn().SetReadDeadline(time.Now()) // ends the wait at once
	}
	started := l.started.Load()
	l.mu.Unlock()
	if started {
		<-l.done
	}
}

// raise sets the generation in memory to gen unless it is higher already.
func (l *genListener) raise(gen int64) {
	for {
		cur := l.known.Load()
		if gen <= cur || l.known.CompareAndSwap(cur, gen) {
			return
		}
	}
}

// notified takes a notification, during any read on the connection. It
// only says that the generation may have moved: the listener then reads
// it from its own schema. The number in the payload is never believed,
// because any role connected to the database may NOTIFY on any channel:
// a forged, higher generation taken from it would let this instance serve
// what it cached under it long after a key was revoked.
func (l *genListener) notified(_ *pgconn.PgConn, n *pgconn.Notification) {
	if n.Channel != genListenChannel {
		return
	}
	if schema, _, _ := strings.Cut(n.Payload, " "); schema != l.schema {
		return // another deployment sharing the database
	}
	l.poked.Store(true)
}

func (l *genListener) run() {
	defer close(l.done)
	backoff := genListenRetryMin
	for {
		began := time.Now()
		l.session()
		if time.Since(began) > genListenRetryMax {
			backoff = genListenRetryMin
		}
		select {
		case <-l.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, genListenRetryMax)
	}
}

// session connects, registers and follows notifications until an error
// or close; it unregisters on close.
func (l *genListener) session() error {
	ctx, cancel := context.WithTimeout(context.Background(), pgGenerationConnectTimeout)
	conn, err := pgconn.ConnectConfig(ctx, l.config)
	cancel()
	if err != nil {
		return err
	}
	defer l.drop(conn)
	l.pid.Store(conn.PID())
	rows, err := l.query(conn, `SELECT current_schema()`)
	if err != nil {
		return err
	}
	if len(rows) != 1 || rows[0][0] == nil {
		return errors.New("store: no current schema")
	}
	l.schema = string(rows[0][0])
	// Listen first, then read: a change either commits before the read
	// (and is read) or after the LISTEN (and is notified).
	if err := l.exec(conn, `LISTEN `+genListenChannel); err != nil {
		return err
	}
	if err := l.exec(conn, `DELETE FROM auth_generation_listeners WHERE lease_until < now() - interval '`+genListenerRetention+`'`); err != nil {
		return err
	}
	acked := l.known.Load()
	sent := time.Since(l.base)
	if _, err := l.query(conn, `INSERT INTO auth_generation_listeners (instance_id, acked, lease_until) VALUES ($1, $2, now() + `+leaseInterval+`)
		ON CONFLICT (instance_id) DO UPDATE SET acked = excluded.acked, lease_until = excluded.lease_until`,
		l.id, strconv.FormatInt(acked, 10)); err != nil {
		return err
	}
	if err := l.readAndTrust(conn, sent); err != nil {
		return err
	}
	nextRenew := sent + genRenewEvery
	for {
		l.pausePoint()
		if l.poked.Swap(false) {
			if err := l.read(conn); err != nil {
				return err
			}
		}
		if k := l.known.Load(); k > acked || time.Since(l.base) >= nextRenew {
			if sent, err = l.renew(conn, k); err != nil {
				return err
			}
			acked, nextRenew = k, sent+genRenewEvery
			continue // the read may have raised known: acknowledge again
		}
		if !l.startWaiting(conn) {
			l.unregister(conn)
			return nil
		}
		if err := conn.Conn().SetReadDeadline(time.Now().Add(nextRenew - time.Since(l.base))); err != nil {
			l.stopWaiting()
			return err
		}
		err := conn.WaitForNotification(context.Background())
		l.stopWaiting()
		if err != nil && !pgconn.Timeout(err) {
			return err
		}
	}
}

// pausePoint waits while a test holds the listener (PauseGenerationListener).
func (l *genListener) pausePoint() {
	if l.hold.TryLock() {
		l.hold.Unlock()
		return
	}
	l.paused.Store(true)
	l.hold.Lock()
	l.paused.Store(false)
	l.hold.Unlock()
}

// leaseInterval is genLease in SQL.
var leaseInterval = fmt.Sprintf("interval '%d milliseconds'", genLease.Milliseconds())

// renew acknowledges gen and extends the lease, then reads the generation
// and extends trust from when it sent the renewal. The read is a
// statement of its own, after the renewal committed: a writer that found
// the lease expired committed before the renewal, so the read sees its
// change.
func (l *genListener) renew(conn *pgconn.PgConn, gen int64) (time.Duration, error) {
	sent := time.Since(l.base)
	rows, err := l.query(conn, `UPDATE auth_generation_listeners SET acked = $2, lease_until = now() + `+leaseInterval+` WHERE instance_id = $1 RETURNING 1`,
		l.id, strconv.FormatInt(gen, 10))
	if err != nil {
		return 0, err
	}
	if len(rows) != 1 {
		return 0, errListenerGone
	}
	return sent, l.readAndTrust(conn, sent)
}

// readAndTrust reads the generation into memory, then trusts memory until
// the lease renewed at sent (less the margin) runs out.
func (l *genListener) readAndTrust(conn *pgconn.PgConn, sent time.Duration) error {
	if err := l.read(conn); err != nil {
		return err
	}
	l.trustUntil.Store(int64(sent + genLease - genTrustMargin))
	return nil
}

// read reads the generation from the database into memory.
func (l *genListener) read(conn *pgconn.PgConn) error {
	rows, err := l.query(conn, `SELECT value FROM auth_generation WHERE id = 1`)
	if err != nil {
		return err
	}
	if len(rows) != 1 {
		return errBadGeneration
	}
	gen, err := strconv.ParseInt(string(rows[0][0]), 10, 64)
	if err != nil {
		return errBadGeneration
	}
	l.raise(gen)
	return nil
}

// startWaiting marks conn as waiting, so close can interrupt it; false
// when the listener is closing.
func (l *genListener) startWaiting(conn *pgconn.PgConn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.waiting = conn
	return true
}

func (l *genListener) stopWaiting() {
	l.mu.Lock()
	l.waiting = nil
	l.mu.Unlock()
}

func (l *genListener) unregister(conn *pgconn.PgConn) {
	l.trustUntil.Store(0)
	l.query(conn, `DELETE FROM auth_generation_listeners WHERE instance_id = $1`, l.id)
}

// drop stops trusting memory, then closes conn.
func (l *genListener) drop(conn *pgconn.PgConn) {
	l.trustUntil.Store(0)
	l.pid.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	conn.Close(ctx)
	cancel()
}

// query runs one statement with text parameters and answers, bounded by
// genListenIOTimeout on the socket.
func (l *genListener) query(conn *pgconn.PgConn, sql string, args ...string) ([][][]byte, error) {
	if err := conn.Conn().SetDeadline(time.Now().Add(genListenIOTimeout)); err != nil {
		return nil, err
	}
	params := make([][]byte, len(args))
	for i, a := range args {
		params[i] = []byte(a)
	}
	res := conn.ExecParams(context.Background(), sql, params, nil, nil, nil).Read()
	return res.Rows, res.Err
}

func (l *genListener) exec(conn *pgconn.PgConn, sql string) error {
	_, err := l.query(conn, sql)
	return err
}

// authTables are the tables whose changes move the auth generation (their
// triggers call bump_auth_generation; TestAuthTablesAreTheTriggeredOnes
// keeps this list equal to the database's).
var authTables = []string{
	"users", "organizations", "memberships", "projects", "personal_api_keys",
	"project_secret_api_keys", "totp_devices", "feature_flags", "webauthn_credentials",
	"passkey_two_factor",
}

var (
	writeVerb      = regexp.MustCompile(`(?i)\b(INSERT|UPDATE|DELETE)\b`)
	authTableNamed = regexp.MustCompile(`(?i)\b(` + strings.Join(authTables, "|") + `)\b`)
)

// mayMoveAuthGeneration reports whether a statement run outside a
// transaction may move the auth generation: it writes and names a table
// whose triggers move it. Statement triggers fire even when no row
// changes, so this looks at the text alone.
func mayMoveAuthGeneration(query string) bool {
	return writeVerb.MatchString(query) && authTableNamed.MatchString(query)
}

// awaitAuthAcks returns once every listening instance has acknowledged the
// auth generation as of now, or once genLease has passed (see the comment
// above genLease). Call it after a write that may have moved the
// generation has committed. It never fails: when the database cannot
// answer it waits out the lease. It does not end early when ctx ends, since
// the caller may still report the write as done.
func (s *Store) awaitAuthAcks(ctx context.Context) {
	deadline := time.Now().Add(genLease)
	ctx = context.WithoutCancel(ctx)
	var target int64
	pause := 100 * time.Microsecond
	for {
		remaining := time.Until(deadline)
		if remaining <= 0 {
			return
		}
		qctx, cancel := context.WithTimeout(ctx, remaining)
		var behind int64
		var err error
		if target == 0 {
			err = s.read.DB.QueryRowContext(qctx, `SELECT g.value, (SELECT count(*) FROM auth_generation_listeners l WHERE l.lease_until > now() AND l.acked < g.value) FROM auth_generation g WHERE g.id = 1`).Scan(&target, &behind)
		} else {
			err = s.read.DB.QueryRowContext(qctx, `SELECT count(*) FROM auth_generation_listeners WHERE lease_until > now() AND acked < $1`, target).Scan(&behind)
		}
		cancel()
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
			return // not migrated this far (Migrate itself): nobody listens
		}
		if err == nil && behind == 0 {
			return
		}
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, time.Millisecond)
	}
}
