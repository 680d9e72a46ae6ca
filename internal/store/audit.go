package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// The audit log is one hash chain shared by every instance. A transaction
// that records events locks the chain's head row (audit_chain, FOR UPDATE
// on PostgreSQL; SQLite's immediate transactions already serialise
// writers), takes the next seq numbers, signs each event's canonical JSON
// together with the previous event's MAC, and moves the head, all before
// it commits the change the events describe. So the events and the change
// commit or vanish together, and the chain has no forks whatever number of
// instances write. The head lock is taken last, just before commit, so it
// is held for a few statements only.
//
// When the first event of a new UTC day is written, the previous day's
// last seq and MAC are stored as a signed checkpoint; pruning deletes whole
// days that have a checkpoint, and verification then starts from the
// checkpoint of the last pruned day.

// AuditSigner signs and checks the chain's MACs; the key is derived from
// SECRET_KEY (secretkey's "audit-log" purpose). Verify accepts a MAC under
// any key on the ring, so rotating SECRET_KEY with the old one as a
// fallback keeps the chain verifiable.
type AuditSigner interface {
	Sign(msg []byte) []byte
	Verify(msg, mac []byte) bool
}

// AuditOptions configure the audit log of a store.
type AuditOptions struct {
	// Signer signs the chain. Required wherever events are written.
	Signer AuditSigner
	// Stream, when set, receives each committed event's JSON line
	// (AUDIT_LOG_STREAM), after the commit.
	Stream func(line []byte)
}

// auditLog is a store's audit state.
type auditLog struct {
	opts    AuditOptions
	dropped atomic.Int64 // refusal events dropped because the queue was full

	once      sync.Once
	closeOnce sync.Once
	queue     chan auditQueued
	stop      chan struct{}
	done      chan struct{}
}

type auditQueued struct {
	ev    gatehouse.AuditEvent
	flush chan struct{} // set on a flush marker instead of an event
}

// auditQueueSize bounds the refusal events waiting to be written; beyond
// it new ones are counted and dropped, so a flood never blocks a request.
const auditQueueSize = 4096

// auditBatchMax bounds the refusal events one transaction writes.
const auditBatchMax = 512

// SetAudit configures the audit log; call it before serving.
func (s *Store) SetAudit(opts AuditOptions) {
	s.auditState().opts = opts
}

func (s *Store) auditState() *auditLog { return &s.audit }

// closeAudit stops the refusal writer after writing what is queued.
func (s *Store) closeAudit() {
	a := &s.audit
	a.once.Do(func() {}) // no writer starts after this
	a.closeOnce.Do(func() {
		if a.stop != nil {
			close(a.stop)
		}
	})
	if a.done != nil {
		<-a.done
	}
}

// auditMACMessage is what an event's MAC covers: its canonical JSON and
// the previous event's MAC.
func auditMACMessage(prevMAC string, body []byte) []byte {
	msg := make([]byte, 0, len(body)+96)
	msg = append(msg, "gatehouse-audit-v1\n"...)
	msg = append(msg, prevMAC...)
	msg = append(msg, '\n')
	return append(msg, body...)
}

func auditCheckpointMessage(day string, lastSeq int64, lastMAC string) []byte {
	return []byte("gatehouse-audit-checkpoint-v1\n" + day + "\n" + strconv.FormatInt(lastSeq, 10) + "\n" + lastMAC)
}

const auditDay = "2006-01-02"

// appendAudit writes events at the end of the chain inside tx, filling
// their Seq, ID and MAC.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, events []gatehouse.AuditEvent) error {
	signer := s.auditState().opts.Signer
	if signer == nil {
		return fmt.Errorf("store: audit events need a signing key (SetAudit)")
	}
	head := `SELECT seq, mac, day FROM audit_chain WHERE id = 1`
	if s.engine == Postgres {
		head += ` FOR UPDATE`
	}
	var seq int64
	var prev, day string
	if err := tx.QueryRowContext(ctx, head).Scan(&seq, &prev, &day); err != nil {
		return fmt.Errorf("store: audit chain head: %w", mapErr(err))
	}
	for i := range events {
		ev := &events[i]
		if ev.ID == "" {
			ev.ID = gatehouse.NewUUID()
		}
		if ev.Time.IsZero() {
			ev.Time = time.Now()
		}
		if ev.Outcome == "" {
			ev.Outcome = gatehouse.AuditSuccess
		}
		ev.Time = ev.Time.UTC().Truncate(time.Millisecond)
		evDay := ev.Time.Format(auditDay)
		if evDay > day {
			if seq > 0 && day != "" {
				if err := s.writeCheckpoint(ctx, tx, day, seq, prev); err != nil {
					return err
				}
			}
			day = evDay
		}
		seq++
		ev.Seq, ev.MAC = seq, ""
		line := ev.Line()
		body, err := json.Marshal(line)
		if err != nil {
			return fmt.Errorf("store: audit event: %w", err)
		}
		ev.MAC = hex.EncodeToString(signer.Sign(auditMACMessage(prev, body)))
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO audit_log (seq, id, created_at, event_type, actor_uuid, subject_uuid,
			organization_id, target_id, body, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			seq, ev.ID, ev.Time.UnixMilli(), string(ev.Type), ev.Actor.UUID, ev.SubjectUUID, ev.OrganizationID,
			ev.Target.ID, string(body), ev.MAC)
		if err != nil {
			return fmt.Errorf("store: audit event: %w", mapErr(err))
		}
		prev = ev.MAC
	}
	_, err := tx.ExecContext(ctx, s.q(`UPDATE audit_chain SET seq = ?, mac = ?, day = ? WHERE id = 1`), seq, prev, day)
	return mapErr(err)
}

func (s *Store) writeCheckpoint(ctx context.Context, tx *sql.Tx, day string, seq int64, mac string) error {
	signer := s.auditState().opts.Signer
	cp := hex.EncodeToString(signer.Sign(auditCheckpointMessage(day, seq, mac)))
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit_checkpoints (day, last_seq, last_mac, mac) VALUES (?, ?, ?, ?)`),
		day, seq, mac, cp)
	if err != nil {
		return fmt.Errorf("store: audit checkpoint: %w", mapErr(err))
	}
	return nil
}

// takeAudit takes the events waiting on ctx and writes them in tx. The
// returned finish must run after the transaction ends: it streams the
// events when it committed and gives them back to ctx when it did not.
func (s *Store) takeAudit(ctx context.Context, tx *sql.Tx) (finish func(committed bool), err error) {
	events, restore := gatehouse.TakeAuditEvents(ctx)
	if len(events) == 0 {
		return func(bool) {}, nil
	}
	if err := s.appendAudit(ctx, tx, events); err != nil {
		restore()
		return func(bool) {}, err
	}
	return func(committed bool) {
		if committed {
			s.streamAudit(events)
		} else {
			restore()
		}
	}, nil
}

// execAudited runs one statement together with the audit events waiting
// on ctx, in one transaction. The events are written only when the
// statement changed a row (a delete of nothing records nothing).
func (s *Store) execAudited(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx, err := s.write.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	finish := func(bool) {}
	if n, err := res.RowsAffected(); err == nil && n > 0 {
		if finish, err = s.takeAudit(ctx, tx); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		finish(false)
		return nil, err
	}
	finish(true)
	return res, nil
}

func (s *Store) streamAudit(events []gatehouse.AuditEvent) {
	stream := s.auditState().opts.Stream
	if stream == nil {
		return
	}
	for i := range events {
		line, err := json.Marshal(events[i].Line())
		if err == nil {
			stream(line)
		}
	}
}

// RecordAuditEvents writes events that go with no other change (a
// refusal) synchronously, in a transaction of their own.
func (s *Store) RecordAuditEvents(ctx context.Context, events ...gatehouse.AuditEvent) error {
	return s.inTx(gatehouse.WithAuditEvents(ctx, events...), func(*sql.Tx) error { return nil })
}

// RecordAuditRefusal queues an event that records a refusal (a failed
// login, an allow-list refusal) without waiting: a batching writer commits
// queued events together, so a flood of refusals costs one transaction
// per batch and never slows the requests that cause it. When the queue is
// full the event is dropped and counted (AuditDropped).
func (s *Store) RecordAuditRefusal(ctx context.Context, ev gatehouse.AuditEvent) {
	a := s.auditState()
	a.once.Do(func() {
		a.queue = make(chan auditQueued, auditQueueSize)
		a.stop = make(chan struct{})
		a.done = make(chan struct{})
		go s.runAuditWriter(a)
	})
	select {
	case a.queue <- auditQueued{ev: gatehouse.CompleteAuditEvent(ctx, ev)}:
	default:
		a.dropped.Add(1)
	}
}

// AuditDropped is how many refusal events were dropped on a full queue.
func (s *Store) AuditDropped() int64 { return s.auditState().dropped.Load() }

// FlushAudit waits until the refusal events queued before it are written.
func (s *Store) FlushAudit(ctx context.Context) error {
	a := s.auditState()
	if a.queue == nil {
		return nil
	}
	done := make(chan struct{})
	select {
	case a.queue <- auditQueued{flush: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-a.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) runAuditWriter(a *auditLog) {
	defer close(a.done)
	for {
		var first auditQueued
		select {
		case first = <-a.queue:
		case <-a.stop:
			s.drainAudit(a)
			return
		}
		s.writeAuditBatch(a, first)
	}
}

func (s *Store) drainAudit(a *auditLog) {
	for {
		select {
		case q := <-a.queue:
			s.writeAuditBatch(a, q)
		default:
			return
		}
	}
}

func (s *Store) writeAuditBatch(a *auditLog, first auditQueued) {
	var events []gatehouse.AuditEvent
	var flushes []chan struct{}
	add := func(q auditQueued) {
		if q.flush != nil {
			flushes = append(flushes, q.flush)
		} else {
			events = append(events, q.ev)
		}
	}
	add(first)
	for len(events) < auditBatchMax {
		select {
		case q := <-a.queue:
			add(q)
			continue
		default:
		}
		break
	}
	if len(events) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.RecordAuditEvents(ctx, events...)
		cancel()
		if err != nil {
			a.dropped.Add(int64(len(events)))
			slog.Warn("store: audit refusal events not written", "events", len(events), "error", err.Error())
		}
	}
	for _, f := range flushes {
		close(f)
	}
}

// AuditEvents lists events matching f, newest first, and how many match
// in all.
func (s *Store) AuditEvents(ctx context.Context, f gatehouse.AuditFilter) ([]gatehouse.AuditEvent, int, error) {
	var where []string
	var args []any
	add := func(cond string, v ...any) { where = append(where, cond); args = append(args, v...) }
	if f.OrganizationID != "" {
		add("organization_id = ?", f.OrganizationID)
	}
	if f.AccountUUID != "" {
		add("(actor_uuid = ? OR subject_uuid = ?)", f.AccountUUID, f.AccountUUID)
	}
	if f.ActorUUID != "" {
		add("actor_uuid = ?", f.ActorUUID)
	}
	if f.Type != "" {
		add("event_type = ?", string(f.Type))
	}
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if !f.After.IsZero() {
		add("created_at >= ?", f.After.UnixMilli())
	}
	if !f.Before.IsZero() {
		add("created_at < ?", f.Before.UnixMilli())
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var count int
	if err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM audit_log`+cond), args...).Scan(&count); err != nil {
		return nil, 0, mapErr(err)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT body, mac FROM audit_log`+cond+` ORDER BY seq DESC LIMIT ? OFFSET ?`),
		append(args, limit, max(f.Offset, 0))...)
	out, err := appendRows([]gatehouse.AuditEvent{}, rows, err, scanAuditEvent)
	return out, count, err
}

func scanAuditEvent(r interface{ Scan(...any) error }) (*gatehouse.AuditEvent, error) {
	var body, mac string
	if err := r.Scan(&body, &mac); err != nil {
		return nil, err
	}
	var line gatehouse.AuditLine
	if err := json.Unmarshal([]byte(body), &line); err != nil {
		return nil, fmt.Errorf("store: audit event body: %w", err)
	}
	ev, err := line.Event()
	if err != nil {
		return nil, fmt.Errorf("store: audit event time: %w", err)
	}
	ev.MAC = mac
	return &ev, nil
}

// ExportAudit calls fn with the JSON line of every event at or after
// since (and before until, when set), oldest first.
func (s *Store) ExportAudit(ctx context.Context, since, until time.Time, fn func(line []byte) error) error {
	if until.IsZero() {
		until = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	var after int64
	for {
		rows, err := s.read.QueryContext(ctx, s.q(`SELECT seq, body, mac FROM audit_log
			WHERE seq > ? AND created_at >= ? AND created_at < ? ORDER BY seq LIMIT 1000`), after, since.UnixMilli(), until.UnixMilli())
		if err != nil {
			return mapErr(err)
		}
		n := 0
		var lines [][]byte
		for rows.Next() {
			var body, mac string
			if err := rows.Scan(&after, &body, &mac); err != nil {
				rows.Close()
				return err
			}
			n++
			// body is the line without its MAC; the MAC closes it.
			lines = append(lines, []byte(strings.TrimSuffix(body, "}")+`,"mac":"`+mac+`"}`))
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return mapErr(err)
		}
		for _, l := range lines {
			if err := fn(l); err != nil {
				return err
			}
		}
		if n < 1000 {
			return nil
		}
	}
}

// AuditProblem is the first place verification found the chain broken.
type AuditProblem struct {
	Seq  int64
	Kind string // "altered", "removed" or "inserted"
	// Detail says what did not match.
	Detail string
}

func (p *AuditProblem) String() string {
	return fmt.Sprintf("event %d %s: %s", p.Seq, p.Kind, p.Detail)
}

// AuditVerification is the result of VerifyAudit.
type AuditVerification struct {
	Events  int64 // events checked
	First   int64 // first seq still stored (0: none)
	Last    int64 // the chain head's seq
	Problem *AuditProblem
}

type auditCheckpoint struct {
	day     string
	lastSeq int64
	lastMAC string
	mac     string
}

// VerifyAudit walks the whole chain and reports the first event that was
// altered, removed or inserted after it was written.
func (s *Store) VerifyAudit(ctx context.Context) (*AuditVerification, error) {
	signer := s.auditState().opts.Signer
	if signer == nil {
		return nil, fmt.Errorf("store: verifying the audit log needs its key (SetAudit)")
	}
	res := &AuditVerification{}
	rows, err := s.read.QueryContext(ctx, `SELECT day, last_seq, last_mac, mac FROM audit_checkpoints ORDER BY last_seq`)
	cps, err := appendRows(nil, rows, err, func(r interface{ Scan(...any) error }) (*auditCheckpoint, error) {
		var c auditCheckpoint
		return &c, r.Scan(&c.day, &c.lastSeq, &c.lastMAC, &c.mac)
	})
	if err != nil {
		return nil, err
	}
	bySeq := map[int64]auditCheckpoint{}
	for _, c := range cps {
		mac, err := hex.DecodeString(c.mac)
		if err != nil || !signer.Verify(auditCheckpointMessage(c.day, c.lastSeq, c.lastMAC), mac) {
			res.Problem = &AuditProblem{Seq: c.lastSeq, Kind: "altered", Detail: "the checkpoint of " + c.day + " does not match its MAC"}
			return res, nil
		}
		bySeq[c.lastSeq] = c
	}
	fail := func(seq int64, kind, detail string) (*AuditVerification, error) {
		res.Problem = &AuditProblem{Seq: seq, Kind: kind, Detail: detail}
		return res, nil
	}
	// Other instances may append while this walks: the head is read before
	// each batch, every event up to it committed before the batch's query,
	// and an event beyond it is checked against a fresh read of the head.
	readHead := func() (int64, string, error) {
		var seq int64
		var mac string
		err := s.read.QueryRowContext(ctx, `SELECT seq, mac FROM audit_chain WHERE id = 1`).Scan(&seq, &mac)
		return seq, mac, mapErr(err)
	}
	next, prev := int64(0), ""
	var after int64 = -1 << 62
	for {
		head, headMAC, err := readHead()
		if err != nil {
			return nil, err
		}
		res.Last = max(res.Last, head)
		rows, err := s.read.QueryContext(ctx, s.q(`SELECT seq, id, created_at, event_type, actor_uuid, subject_uuid,
			organization_id, target_id, body, mac FROM audit_log WHERE seq > ? ORDER BY seq LIMIT 1000`), after)
		if err != nil {
			return nil, mapErr(err)
		}
		type stored struct {
			seq, created                                    int64
			id, typ, actor, subject, org, target, body, mac string
		}
		var batch []stored
		for rows.Next() {
			var r stored
			if err := rows.Scan(&r.seq, &r.id, &r.created, &r.typ, &r.actor, &r.subject, &r.org, &r.target, &r.body, &r.mac); err != nil {
				rows.Close()
				return nil, err
			}
			batch = append(batch, r)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, mapErr(err)
		}
		for _, r := range batch {
			after = r.seq
			if r.seq > res.Last {
				if res.Last, _, err = readHead(); err != nil {
					return nil, err
				}
			}
			if r.seq < 1 || r.seq > res.Last {
				return fail(r.seq, "inserted", "the event is outside the chain (its head is at "+strconv.FormatInt(res.Last, 10)+")")
			}
			if next == 0 {
				// The first stored event: the chain starts at 1 or after
				// the checkpoint of the last pruned day.
				res.First = r.seq
				if r.seq != 1 {
					cp, ok := bySeq[r.seq-1]
					if !ok {
						return fail(r.seq-1, "removed", "events before "+strconv.FormatInt(r.seq, 10)+" are missing and no checkpoint covers them")
					}
					prev = cp.lastMAC
				}
				next = r.seq
			}
			if r.seq != next {
				return fail(next, "removed", "the chain skips from "+strconv.FormatInt(next-1, 10)+" to "+strconv.FormatInt(r.seq, 10))
			}
			var line gatehouse.AuditLine
			if err := json.Unmarshal([]byte(r.body), &line); err != nil {
				return fail(r.seq, "altered", "the event's content is not valid JSON")
			}
			t, terr := time.Parse(gatehouse.AuditTimeFormat, line.Time)
			if line.Seq != r.seq || line.ID != r.id || terr != nil || t.UnixMilli() != r.created || line.Type != r.typ ||
				line.Actor.UUID != r.actor || line.SubjectUUID != r.subject || line.OrganizationID != r.org || line.Target.ID != r.target {
				return fail(r.seq, "altered", "the event's columns do not match its signed content")
			}
			mac, err := hex.DecodeString(r.mac)
			if err != nil || !signer.Verify(auditMACMessage(prev, []byte(r.body)), mac) {
				return fail(r.seq, "altered", "the event does not match its MAC")
			}
			if cp, ok := bySeq[r.seq]; ok && cp.lastMAC != r.mac {
				return fail(r.seq, "altered", "the event differs from the checkpoint of "+cp.day)
			}
			prev = r.mac
			next++
			res.Events++
		}
		if len(batch) == 1000 {
			continue
		}
		// The last batch: every event up to head was committed before its
		// query, so the walk must have reached head.
		switch {
		case next == 0 && head > 0:
			// Nothing stored: everything was pruned, or removed.
			if cp, ok := bySeq[head]; !ok || cp.lastMAC != headMAC {
				return fail(head, "removed", "no event is stored and no checkpoint covers the chain head")
			}
		case next != 0 && next-1 < head:
			return fail(next, "removed", "the chain ends at "+strconv.FormatInt(next-1, 10)+" but its head is at "+strconv.FormatInt(head, 10))
		case next != 0 && next-1 == head && prev != headMAC:
			return fail(next-1, "altered", "the last event does not match the chain head")
		}
		res.Last = max(res.Last, next-1)
		return res, nil
	}
}

// PruneAudit deletes the events of whole UTC days before cutoff that a
// checkpoint covers, so the chain stays verifiable from that checkpoint;
// it first checkpoints the head's day when that day is over and no event
// has started a new one. It returns how many events went.
func (s *Store) PruneAudit(ctx context.Context, cutoff time.Time) (int64, error) {
	if s.auditState().opts.Signer != nil {
		today := time.Now().UTC().Format(auditDay)
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			head := `SELECT seq, mac, day FROM audit_chain WHERE id = 1`
			if s.engine == Postgres {
				head += ` FOR UPDATE`
			}
			var seq int64
			var mac, day string
			if err := tx.QueryRowContext(ctx, head).Scan(&seq, &mac, &day); err != nil {
				return mapErr(err)
			}
			if seq == 0 || day == "" || day >= today {
				return nil
			}
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM audit_checkpoints WHERE day = ?`), day).Scan(&n); err != nil || n > 0 {
				return mapErr(err)
			}
			return s.writeCheckpoint(ctx, tx, day, seq, mac)
		})
		if err != nil {
			return 0, err
		}
	}
	var last sql.NullInt64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT MAX(last_seq) FROM audit_checkpoints WHERE day < ?`),
		cutoff.UTC().Format(auditDay)).Scan(&last)
	if err != nil || !last.Valid {
		return 0, mapErr(err)
	}
	return s.deleteCount(ctx, `DELETE FROM audit_log WHERE seq <= ?`, last.Int64)
}
