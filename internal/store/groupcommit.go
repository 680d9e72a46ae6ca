package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// groupCommitMaxEvents bounds the events one shared transaction carries.
const groupCommitMaxEvents = 10_000

// errStoreClosed is returned to writers that arrive after Close.
var errStoreClosed = errors.New("store: closed")

// eventCommitter batches concurrent InsertEvents calls into one
// transaction (group commit). Every commit waits for an fsync (SQLite's
// WAL, PostgreSQL's WAL flush), so sixteen requests that each commit alone
// wait for sixteen fsyncs in a row; committed together they wait for one.
// On SQLite, which has one writer, the requests would queue anyway; on
// PostgreSQL a group also costs three round trips instead of three per
// request (insertEventGroupPostgres), and a few groups commit at once, on
// connections of their own, because there inserting rows costs the
// database more CPU than one server process has. Every caller still
// returns only after the transaction holding its events is durable.
type eventCommitter struct {
	s     *Store
	queue chan *eventWrite
	stop  chan struct{}
	dead  chan struct{} // closed when every run has returned
	once  sync.Once
}

// postgresCommitters is how many groups commit at once on PostgreSQL.
const postgresCommitters = 4

type eventWrite struct {
	events   []gatehouse.Event
	inserted int
	err      error
	done     chan struct{}
}

func newEventCommitter(s *Store) *eventCommitter {
	c := &eventCommitter{s: s, queue: make(chan *eventWrite, 256), stop: make(chan struct{}), dead: make(chan struct{})}
	workers := 1 // SQLite has one writer
	if s.engine == Postgres {
		workers = postgresCommitters
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.run()
		}()
	}
	go func() {
		wg.Wait()
		close(c.dead)
	}()
	return c
}

// insert queues events and waits until they are committed.
func (c *eventCommitter) insert(ctx context.Context, events []gatehouse.Event) (int, error) {
	w := &eventWrite{events: events, done: make(chan struct{})}
	select {
	case <-c.stop:
		return 0, errStoreClosed
	default:
	}
	select {
	case c.queue <- w:
	case <-c.stop:
		return 0, errStoreClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case <-w.done:
		return w.inserted, w.err
	case <-c.dead:
		// Closed while queued: the final drain may or may not have taken
		// this write.
		select {
		case <-w.done:
			return w.inserted, w.err
		default:
			return 0, errStoreClosed
		}
	case <-ctx.Done():
		// The write may still commit; the caller was not told it did, so
		// a retry is safe (events with a uuid are stored once).
		return 0, ctx.Err()
	}
}

func (c *eventCommitter) run() {
	for {
		var first *eventWrite
		select {
		case first = <-c.queue:
		case <-c.stop:
			c.drain()
			return
		}
		group := []*eventWrite{first}
		total := len(first.events)
	collect:
		for total < groupCommitMaxEvents {
			select {
			case w := <-c.queue:
				group = append(group, w)
				total += len(w.events)
			default:
				break collect
			}
		}
		c.commit(group)
	}
}

// drain answers every write still queued at Close.
func (c *eventCommitter) drain() {
	for {
		select {
		case w := <-c.queue:
			c.commit([]*eventWrite{w})
		default:
			return
		}
	}
}

// commit writes a group in one transaction. If that fails, each write is
// retried alone, so one bad write cannot fail the others.
func (c *eventCommitter) commit(group []*eventWrite) {
	ctx := context.Background()
	var err error
	if c.s.engine == Postgres {
		err = c.s.insertEventGroupPostgres(ctx, group)
	} else {
		err = c.s.inTx(ctx, func(tx *sql.Tx) error {
			for _, w := range group {
				n, err := c.s.insertEventsTx(ctx, tx, w.events)
				if err != nil {
					return err
				}
				w.inserted = n
			}
			return nil
		})
	}
	if err != nil && len(group) > 1 {
		for _, w := range group {
			c.commit([]*eventWrite{w})
		}
		return
	}
	for _, w := range group {
		if err != nil {
			w.inserted, w.err = 0, err
		}
		close(w.done)
	}
}

func (c *eventCommitter) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.dead
}

// eventsUnnestInsert inserts a run of one write's events that share
// their project and time of receipt (every event of a capture request
// does): those two as single values, the other columns as one array each.
// A single statement text for any number of events, so PostgreSQL parses
// it once per connection, and no array of a hundred copies of one value
// for either side to build and take apart.
const eventsUnnestInsert = `INSERT INTO events (project_id, uuid, event, distinct_id, timestamp, properties, received_at)
SELECT $1::bigint, uuid::uuid, event, distinct_id, timestamp, properties, $7::timestamptz
FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS e(uuid, event, distinct_id, timestamp, properties)
ON CONFLICT (project_id, uuid) DO NOTHING`

// eventProjectLock checks that a project of a group exists and keeps it
// from being deleted until the group commits: what the foreign key from
// events to projects did for each row, which PostgreSQL no longer has
// (migration 0018), done once a group for each of its projects. One
// project a statement, not id = ANY($1): PostgreSQL plans an ANY over a
// parameter array anew on every run, an equality once per connection.
const eventProjectLock = `SELECT id FROM projects WHERE id = $1 FOR KEY SHARE`

// errNoSuchProject fails a write whose events name a project that does
// not exist (deleted since its token was checked).
var errNoSuchProject = errors.New("store: inserting events: no such project")

// Names of the event writer's prepared statements on each connection.
const (
	eventProjectLockName   = "gatehouse_event_project_lock"
	eventsUnnestInsertName = "gatehouse_events_insert"
)

// eventsCopy stores a group's events with COPY in binary: the cheapest
// way into a PostgreSQL table, as it skips planning and executing a
// statement for the rows and writes many rows to a heap page at once
// (one WAL record a page, not one a row). COPY has no ON CONFLICT: a
// uuid stored before fails it with a unique violation, and the group is
// then written again with eventsUnnestInsert, which skips duplicates.
const eventsCopy = `COPY events (project_id, uuid, event, distinct_id, timestamp, properties, received_at) FROM STDIN (FORMAT binary)`

// insertEventGroupPostgres writes a group in one PostgreSQL transaction.
// Events are seldom sent twice (a client retries a batch it was not
// answered for), so the group is first copied in whole; only when that
// finds a duplicate does the transaction roll back and the group go in
// again, skipping duplicates (both by writeEventGroup). It sets each
// write's inserted count only when the transaction commits.
func (s *Store) insertEventGroupPostgres(ctx context.Context, group []*eventWrite) error {
	counts, err := s.writeEventGroup(ctx, group, true)
	if isUniqueViolation(err) {
		s.eventCopyConflicts.Add(1)
		counts, err = s.writeEventGroup(ctx, group, false)
	}
	if err != nil {
		return err
	}
	for i, w := range group {
		w.inserted = counts[i]
	}
	return nil
}

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// writeEventGroup writes a group in one transaction, by COPY (byCopy) or
// by one INSERT per write that skips duplicates, and returns each write's
// count of new events. The check of the group's projects goes first, in
// one pipelined batch.
//
// Both ways send parameters this file encodes (encodeEventCopy,
// encodeEventRun) through pgconn, not through pgx's type map: that builds
// each 50 kB write by appending element after element to a buffer that
// starts at 256 bytes, and copied every event's properties into a string
// first, about six times the bytes sent in allocations, which cost this
// process about as much CPU as the rest of the write.
func (s *Store) writeEventGroup(ctx context.Context, group []*eventWrite, byCopy bool) ([]int, error) {
	// Encoded before a connection is taken, so that it is not held for
	// that work.
	now := time.Now()
	var data []byte
	if byCopy {
		var err error
		if data, err = encodeEventCopy(group, now); err != nil {
			return nil, err
		}
	}
	conn, err := s.write.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: inserting events: %w", err)
	}
	defer conn.Close()
	counts := make([]int, len(group))
	err = conn.Raw(func(driverConn any) error {
		pc := driverConn.(*stdlib.Conn).Conn()
		// Parsed once per connection; later calls find them in pgx's map.
		lock, err := pc.Prepare(ctx, eventProjectLockName, eventProjectLock)
		if err != nil {
			return fmt.Errorf("store: preparing the event writer: %w", err)
		}
		tx, err := pc.Begin(ctx)
		if err != nil {
			return fmt.Errorf("store: begin: %w", err)
		}
		defer tx.Rollback(ctx) // after Commit: does nothing
		projects := groupProjects(group)
		var batch pgconn.Batch
		for _, id := range projects {
			batch.ExecStatement(lock, [][]byte{binary.BigEndian.AppendUint64(nil, uint64(id))}, binaryParams[:1], nil)
		}
		var runOf []int // the write each INSERT is for
		if !byCopy {
			insert, err := pc.Prepare(ctx, eventsUnnestInsertName, eventsUnnestInsert)
			if err != nil {
				return fmt.Errorf("store: preparing the event writer: %w", err)
			}
			for i, w := range group {
				for events := range eventRuns(w.events, now) {
					batch.ExecStatement(insert, encodeEventRun(events, now), binaryParams[:7], nil)
					runOf = append(runOf, i)
				}
			}
		}
		results, err := pc.PgConn().ExecBatch(ctx, &batch).ReadAll()
		if err == nil && len(results) != len(projects)+len(runOf) {
			err = fmt.Errorf("%d results for %d statements", len(results), len(projects)+len(runOf))
		}
		if err != nil {
			return fmt.Errorf("store: inserting events: %w", mapErr(err))
		}
		for _, r := range results[:len(projects)] {
			if len(r.Rows) != 1 {
				return errNoSuchProject
			}
		}
		if byCopy {
			if _, err := pc.PgConn().CopyFrom(ctx, bytes.NewReader(data), eventsCopy); err != nil {
				return fmt.Errorf("store: inserting events: %w", err)
			}
			for i, w := range group {
				counts[i] = len(w.events)
			}
		}
		for k, i := range runOf {
			counts[i] += int(results[len(projects)+k].CommandTag.RowsAffected())
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("store: commit: %w", mapErr(err))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// groupProjects lists the distinct projects of a group's events.
func groupProjects(group []*eventWrite) []int64 {
	var ids []int64
	for _, w := range group {
		for _, e := range w.events {
			if !slices.Contains(ids, e.ProjectID) {
				ids = append(ids, e.ProjectID)
			}
		}
	}
	return ids
}

// eventRuns splits events into runs of consecutive events with the same
// project and time of receipt (now for an event without one). A capture
// request's events are one run; storing the runs in order, in one
// transaction, stores and counts the same events as one statement would.
func eventRuns(events []gatehouse.Event, now time.Time) iter.Seq[[]gatehouse.Event] {
	return func(yield func([]gatehouse.Event) bool) {
		for start := 0; start < len(events); {
			project, at := events[start].ProjectID, receivedAt(events[start], now)
			end := start + 1
			for end < len(events) && events[end].ProjectID == project && receivedAt(events[end], now).Equal(at) {
				end++
			}
			if !yield(events[start:end]) {
				return
			}
			start = end
		}
	}
}

// receivedAt is when e was received, now if it does not say.
func receivedAt(e gatehouse.Event, now time.Time) time.Time {
	if e.ReceivedAt.IsZero() {
		return now
	}
	return e.ReceivedAt
}

// binaryParams marks every parameter of a statement as sent in
// PostgreSQL's binary format.
var binaryParams = []int16{1, 1, 1, 1, 1, 1, 1}

// textOID is PostgreSQL's type id of text, the element type of the
// arrays encodeEventRun sends.
const textOID = 25

// postgresEpoch is PostgreSQL's zero time, 2000-01-01 UTC, in unix
// seconds: its binary timestamptz counts microseconds from there.
const postgresEpoch = 946_684_800

// encodeEventRun encodes the seven parameters of eventsUnnestInsert for a
// run (events of one project and time of receipt) in PostgreSQL's binary
// format, into one buffer of exactly the size they need: the project as
// an int8, five one-dimensional text arrays (a header, then each
// element's length and bytes), and the time of receipt as a timestamptz.
func encodeEventRun(run []gatehouse.Event, now time.Time) [][]byte {
	const arrayHeader = 20 // dimensions, has-nulls flag, element type, length, lower bound
	size := 8 + 5*arrayHeader + 5*4*len(run) + 8
	for _, e := range run {
		size += len(e.UUID) + len(e.Name) + len(e.DistinctID) + len(e.Timestamp) + len(e.Properties)
	}
	buf := make([]byte, 0, size)
	params := make([][]byte, 0, 7)
	param := func(start int) { params = append(params, buf[start:len(buf):len(buf)]) }
	buf = binary.BigEndian.AppendUint64(buf, uint64(run[0].ProjectID))
	param(0)
	for column := range 5 {
		start := len(buf)
		buf = binary.BigEndian.AppendUint32(buf, 1) // dimensions
		buf = binary.BigEndian.AppendUint32(buf, 0) // no nulls
		buf = binary.BigEndian.AppendUint32(buf, textOID)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(run)))
		buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
		for i := range run {
			e := &run[i]
			switch column {
			case 0:
				buf = appendText(buf, e.UUID)
			case 1:
				buf = appendText(buf, e.Name)
			case 2:
				buf = appendText(buf, e.DistinctID)
			case 3:
				buf = appendText(buf, e.Timestamp)
			case 4:
				buf = appendText(buf, e.Properties)
			}
		}
		param(start)
	}
	at := receivedAt(run[0], now)
	start := len(buf)
	buf = binary.BigEndian.AppendUint64(buf, uint64(postgresMicros(at)))
	param(start)
	return params
}

// appendText appends one element of a binary text array: its length,
// then its bytes.
func appendText[T ~string | ~[]byte](buf []byte, s T) []byte {
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(s)))
	return append(buf, s...)
}

// copyHeader opens PostgreSQL's binary COPY format: a signature, no flags
// and no header extension.
const copyHeader = "PGCOPY\n\xff\r\n\x00" + "\x00\x00\x00\x00" + "\x00\x00\x00\x00"

// encodeEventCopy encodes a group's events for eventsCopy, into one
// buffer of exactly the size they need: after the header, each event as
// a tuple of seven fields (a count, then each field's length and bytes:
// the project as an int8, the uuid's 16 bytes, four texts, the time of
// receipt as a timestamptz), then the end mark. An event whose uuid is
// not in the canonical form capture stores fails the group (which is
// then written one write at a time, so only its own write fails).
func encodeEventCopy(group []*eventWrite, now time.Time) ([]byte, error) {
	const tupleFixed = 2 + 7*4 + 8 + 16 + 8 // field count, lengths, project, uuid, time of receipt
	size := len(copyHeader) + 2
	for _, w := range group {
		for i := range w.events {
			e := &w.events[i]
			size += tupleFixed + len(e.Name) + len(e.DistinctID) + len(e.Timestamp) + len(e.Properties)
		}
	}
	buf := make([]byte, 0, size)
	buf = append(buf, copyHeader...)
	for _, w := range group {
		for i := range w.events {
			e := &w.events[i]
			buf = binary.BigEndian.AppendUint16(buf, 7)
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, uint64(e.ProjectID))
			buf = binary.BigEndian.AppendUint32(buf, 16)
			var ok bool
			if buf, ok = appendUUID(buf, e.UUID); !ok {
				return nil, fmt.Errorf("store: inserting events: %q is not a uuid", e.UUID)
			}
			buf = appendText(buf, e.Name)
			buf = appendText(buf, e.DistinctID)
			buf = appendText(buf, e.Timestamp)
			buf = appendText(buf, e.Properties)
			buf = binary.BigEndian.AppendUint32(buf, 8)
			buf = binary.BigEndian.AppendUint64(buf, uint64(postgresMicros(receivedAt(*e, now))))
		}
	}
	return binary.BigEndian.AppendUint16(buf, 0xffff), nil // -1: no more tuples
}

// appendUUID appends the 16 bytes of a uuid in its 8-4-4-4-12 hex form
// (either case), and reports whether it was one.
func appendUUID(buf []byte, u string) ([]byte, bool) {
	if len(u) != 36 || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' {
		return buf, false
	}
	var digits [32]byte
	n := copy(digits[:], u[:8])
	n += copy(digits[n:], u[9:13])
	n += copy(digits[n:], u[14:18])
	n += copy(digits[n:], u[19:23])
	copy(digits[n:], u[24:])
	var b [16]byte
	if _, err := hex.Decode(b[:], digits[:]); err != nil {
		return buf, false
	}
	return append(buf, b[:]...), true
}

// postgresMicros is t in PostgreSQL's binary timestamptz: microseconds
// since 2000-01-01 UTC.
func postgresMicros(t time.Time) int64 {
	return (t.Unix()-postgresEpoch)*1_000_000 + int64(t.Nanosecond()/1000)
}
