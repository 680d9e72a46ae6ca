package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// deviceRefresh is how stale a device's recorded last sign-in may get
// before a sign-in from it writes again.
const deviceRefresh = time.Hour

// SeeDevice records that the user signed in from the device with this
// fingerprint at now, and returns when it was last seen before (zero when
// never). One atomic statement on both engines.
func (s *Store) SeeDevice(ctx context.Context, userID int64, fingerprint string, now time.Time) (previous time.Time, err error) {
	var prev int64
	// A device seen within the hour needs no write (on SQLite, no fsync on
	// the single writer): its last-seen time is fine an hour stale against
	// a 30-day window.
	err = s.read.QueryRowContext(ctx, s.q(`SELECT last_seen_at FROM known_devices WHERE user_id = ? AND fingerprint = ?`), userID, fingerprint).Scan(&prev)
	if err == nil && prev > 0 && now.Sub(time.UnixMilli(prev)) < deviceRefresh && !time.UnixMilli(prev).After(now) {
		return time.UnixMilli(prev).UTC(), nil
	}
	prev = 0
	// The upsert returns the row after the update; the old value is read
	// first in the same transaction so concurrent logins agree.
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, s.q(`SELECT last_seen_at FROM known_devices WHERE user_id = ? AND fingerprint = ?`), userID, fingerprint)
		if err := row.Scan(&prev); err != nil && !IsNotFound(mapErr(err)) {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO known_devices (user_id, fingerprint, last_seen_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id, fingerprint) DO UPDATE SET last_seen_at = excluded.last_seen_at`), userID, fingerprint, now.UnixMilli())
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: recording device: %w", mapErr(err))
	}
	if prev == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(prev).UTC(), nil
}
