package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// The outbox keeps its times as unix milliseconds, so that due and lease
// comparisons behave the same on both engines.

func toMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

const outboxColumns = `id, to_address, subject, text_body, html_body, status, attempts, next_attempt_at, created_at, sent_at, last_error`

func scanOutboxMessage(row interface{ Scan(...any) error }) (gatehouse.OutboxMessage, error) {
	var (
		m                   gatehouse.OutboxMessage
		nextAttempt, create int64
		sent                sql.NullInt64
	)
	if err := row.Scan(&m.ID, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Status, &m.Attempts, &nextAttempt, &create, &sent, &m.LastError); err != nil {
		return m, err
	}
	m.NextAttemptAt = fromMillis(nextAttempt)
	m.CreatedAt = fromMillis(create)
	if sent.Valid {
		at := fromMillis(sent.Int64)
		m.SentAt = &at
	}
	return m, nil
}

// EnqueueMail stores a pending message, due at m.NextAttemptAt (or at once
// when that is zero), and returns its ID. The message is durable when
// EnqueueMail returns.
func (s *Store) EnqueueMail(ctx context.Context, m gatehouse.OutboxMessage) (int64, error) {
	created := m.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	due := m.NextAttemptAt
	if due.IsZero() {
		due = created
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, s.q(`INSERT INTO mail_outbox (to_address, subject, text_body, html_body, status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?) RETURNING id`),
			m.To, m.Subject, m.Text, m.HTML, gatehouse.OutboxPending, toMillis(due), toMillis(created)).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("store: enqueueing mail: %w", mapErr(err))
	}
	return id, nil
}

// ClaimMail leases up to n due messages (pending, next attempt at or before
// now, not leased by someone else) until now+leaseFor and returns them,
// oldest first. Two instances claiming at once never get the same message:
// PostgreSQL skips rows another claim has locked, and SQLite has one writer.
// A message whose lease runs out before it is marked sent or failed (its
// sender crashed) becomes claimable again.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, n int, leaseFor time.Duration) ([]gatehouse.OutboxMessage, error) {
	if n <= 0 {
		return nil, nil
	}
	// The subquery picks the due messages; the outer WHERE repeats the
	// conditions so that a row another claim updated meanwhile is re-checked.
	// On PostgreSQL the pick is a materialised CTE that locks its rows and
	// skips those another claim holds: as a plain IN subquery the planner
	// may run it more than once and lease more than n rows. SQLite has one
	// writer, so the write transaction alone keeps claims apart.
	pick := `SELECT id FROM mail_outbox
			WHERE status = ? AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
			ORDER BY id LIMIT ?`
	update := `UPDATE mail_outbox SET lease_until = ?
		WHERE id IN (` + pick + `)
		AND status = ? AND (lease_until IS NULL OR lease_until <= ?)
		RETURNING ` + outboxColumns
	if s.engine == Postgres {
		update = `WITH due AS MATERIALIZED (` + pick + ` FOR UPDATE SKIP LOCKED)
		UPDATE mail_outbox SET lease_until = ?
		WHERE id IN (SELECT id FROM due)
		AND status = ? AND (lease_until IS NULL OR lease_until <= ?)
		RETURNING ` + outboxColumns
	}
	nowMS := toMillis(now)
	var out []gatehouse.OutboxMessage
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		leaseUntil := toMillis(now.Add(leaseFor))
		args := []any{leaseUntil, gatehouse.OutboxPending, nowMS, nowMS, n, gatehouse.OutboxPending, nowMS}
		if s.engine == Postgres {
			args = []any{gatehouse.OutboxPending, nowMS, nowMS, n, leaseUntil, gatehouse.OutboxPending, nowMS}
		}
		rows, err := tx.QueryContext(ctx, s.q(update), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanOutboxMessage(rows)
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: claiming mail: %w", mapErr(err))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// MarkMailSent records that message id was sent at at, and releases its
// lease. The body is blanked: it may hold a live reset, invite,
// verification or sign-in link, and once delivered it is the recipient's,
// not ours to keep; the recipient, subject and times stay for the record.
// It returns gatehouse.ErrNotFound for an unknown id.
func (s *Store) MarkMailSent(ctx context.Context, id int64, at time.Time) error {
	return s.updateMail(ctx, "marking mail sent",
		`UPDATE mail_outbox SET status = ?, sent_at = ?, lease_until = NULL, last_error = '', text_body = '', html_body = '' WHERE id = ?`,
		gatehouse.OutboxSent, toMillis(at), id)
}

// MarkMailFailed records a failed attempt at message id: its attempt count,
// when to try again and why it failed, and releases its lease. A dead
// message is given up on (status failed) and never claimed again, and its
// body is blanked like a sent one's: it will never be delivered, and the
// links in it must not outlive it in the database (the recipient, subject
// and last error stay for diagnosis). It returns gatehouse.ErrNotFound for
// an unknown id.
func (s *Store) MarkMailFailed(ctx context.Context, id int64, attempts int, nextAttempt time.Time, lastError string, dead bool) error {
	if dead {
		return s.updateMail(ctx, "marking mail failed",
			`UPDATE mail_outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, lease_until = NULL, text_body = '', html_body = '' WHERE id = ?`,
			gatehouse.OutboxFailed, attempts, toMillis(nextAttempt), lastError, id)
	}
	return s.updateMail(ctx, "marking mail failed",
		`UPDATE mail_outbox SET status = ?, attempts = ?, next_attempt_at = ?, last_error = ?, lease_until = NULL WHERE id = ?`,
		gatehouse.OutboxPending, attempts, toMillis(nextAttempt), lastError, id)
}

// OutboxRetention is how long a message stays in the outbox after it was
// queued, whatever became of it. Every link an email carries has expired
// long before (the longest, an invite, lives three days), so nothing
// older is worth keeping, nor sending late.
const OutboxRetention = 30 * 24 * time.Hour

// DeleteOldMail deletes the outbox messages queued before cutoff: sent,
// given up, or still pending (an instance without email configured keeps
// them pending). It returns how many went.
func (s *Store) DeleteOldMail(ctx context.Context, cutoff time.Time) (int64, error) {
	return s.deleteCount(ctx, `DELETE FROM mail_outbox WHERE created_at < ?`, toMillis(cutoff))
}

func (s *Store) updateMail(ctx context.Context, what, query string, args ...any) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(query), args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return gatehouse.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, mapErr(err))
	}
	return nil
}

// ListMail returns the outbox's messages, newest first, at most limit, for
// an operator to read (when email is not configured, this is where the
// emails are).
func (s *Store) ListMail(ctx context.Context, limit int) ([]gatehouse.OutboxMessage, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+outboxColumns+` FROM mail_outbox ORDER BY id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("store: listing mail: %w", err)
	}
	defer rows.Close()
	var out []gatehouse.OutboxMessage
	for rows.Next() {
		m, err := scanOutboxMessage(rows)
		if err != nil {
			return nil, fmt.Errorf("store: listing mail: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: listing mail: %w", err)
	}
	return out, nil
}

// MailByID returns one outbox message, body included (empty once sent),
// for an operator to read; gatehouse.ErrNotFound when there is none.
func (s *Store) MailByID(ctx context.Context, id int64) (*gatehouse.OutboxMessage, error) {
	m, err := scanOutboxMessage(s.read.QueryRowContext(ctx, s.q(`SELECT `+outboxColumns+` FROM mail_outbox WHERE id = ?`), id))
	if err != nil {
		return nil, mapErr(err)
	}
	return &m, nil
}
