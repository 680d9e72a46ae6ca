package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// eventInsertChunk bounds the rows in one INSERT statement (7 parameters a
// row stays far below both engines' parameter limits).
const eventInsertChunk = 500

// InsertEvents stores events in one transaction that is durable when it
// returns. An event whose (project, uuid) is already stored is skipped, so a
// client that retries a batch stores each event once. It returns how many
// events were new.
func (s *Store) InsertEvents(ctx context.Context, events []gatehouse.Event) (int, error) {
	if len(events) == 0 {
		return 0, nil
	}
	if s.events != nil {
		return s.events.insert(ctx, events)
	}
	inserted := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		inserted, err = s.insertEventsTx(ctx, tx, events)
		return err
	})
	return inserted, err
}

// insertEventsTx inserts events inside tx, in statements of bounded size.
func (s *Store) insertEventsTx(ctx context.Context, tx *sql.Tx, events []gatehouse.Event) (int, error) {
	inserted := 0
	for start := 0; start < len(events); start += eventInsertChunk {
		end := min(start+eventInsertChunk, len(events))
		n, err := s.insertEventChunk(ctx, tx, events[start:end])
		if err != nil {
			return inserted, err
		}
		inserted += n
	}
	return inserted, nil
}

func (s *Store) insertEventChunk(ctx context.Context, tx *sql.Tx, events []gatehouse.Event) (int, error) {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (project_id, uuid, event, distinct_id, timestamp, properties, received_at) VALUES `)
	args := make([]any, 0, len(events)*7)
	for i, e := range events {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		received := e.ReceivedAt
		if received.IsZero() {
			received = time.Now()
		}
		args = append(args, e.ProjectID, e.UUID, e.Name, e.DistinctID, e.Timestamp, string(e.Properties), received.UTC())
	}
	b.WriteString(` ON CONFLICT (project_id, uuid) DO NOTHING`)
	res, err := tx.ExecContext(ctx, s.q(b.String()), args...)
	if err != nil {
		return 0, fmt.Errorf("store: inserting events: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CountEvents returns how many events a project has.
func (s *Store) CountEvents(ctx context.Context, projectID int64) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM events WHERE project_id = ?`), projectID).Scan(&n)
	return n, err
}

// EventsOfProject returns a project's events, oldest first, at most limit.
func (s *Store) EventsOfProject(ctx context.Context, projectID int64, limit int) ([]gatehouse.Event, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT project_id, uuid, event, distinct_id, timestamp, properties, received_at FROM events WHERE project_id = ? ORDER BY received_at, uuid LIMIT ?`), projectID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.Event
	for rows.Next() {
		var e gatehouse.Event
		var props string
		if err := rows.Scan(&e.ProjectID, &e.UUID, &e.Name, &e.DistinctID, &e.Timestamp, &props, &e.ReceivedAt); err != nil {
			return nil, err
		}
		e.Properties = []byte(props)
		e.ReceivedAt = e.ReceivedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
