package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// counterIncrSQL adds one to a counter in a single atomic statement: a
// missing or expired counter restarts at 1 expiring at the new expiry; a
// live one counts on and keeps its expiry unless slide is set.
// Parameters: key, new expiry, now, now, slide (1 or 0).
const counterIncrSQL = `INSERT INTO rate_counters (key, count, expires_at) VALUES (?, 1, ?)
ON CONFLICT (key) DO UPDATE SET
	count = CASE WHEN rate_counters.expires_at <= ? THEN 1 ELSE rate_counters.count + 1 END,
	expires_at = CASE WHEN rate_counters.expires_at <= ? OR ? = 1 THEN excluded.expires_at ELSE rate_counters.expires_at END
RETURNING count, expires_at`

// CounterIncr adds 1 to key's rate counter at time now and returns the new
// count and when the counter expires. A missing or expired counter restarts
// at 1 expiring at now+ttl. If slide is true every increment pushes the
// expiry to now+ttl; otherwise the expiry stays where the first increment
// set it. It is atomic across connections and instances.
func (s *Store) CounterIncr(ctx context.Context, key string, now time.Time, ttl time.Duration, slide bool) (int64, time.Time, error) {
	nowMs := now.UnixMilli()
	expiresMs := nowMs + max(ttl.Milliseconds(), 1)
	slideArg := int64(0)
	if slide {
		slideArg = 1
	}
	var count, expires int64
	err := s.write.QueryRowContext(ctx, s.q(counterIncrSQL), key, expiresMs, nowMs, nowMs, slideArg).Scan(&count, &expires)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: incrementing counter: %w", mapErr(err))
	}
	return count, time.UnixMilli(expires), nil
}

// CounterGet returns key's count and expiry at time now, or 0 and the zero
// time when the counter is missing or expired.
func (s *Store) CounterGet(ctx context.Context, key string, now time.Time) (int64, time.Time, error) {
	var count, expires int64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT count, expires_at FROM rate_counters WHERE key = ? AND expires_at > ?`), key, now.UnixMilli()).Scan(&count, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("store: reading counter: %w", err)
	}
	return count, time.UnixMilli(expires), nil
}

// CounterDelete removes key's counter; a missing counter is not an error.
func (s *Store) CounterDelete(ctx context.Context, key string) error {
	if _, err := s.write.ExecContext(ctx, s.q(`DELETE FROM rate_counters WHERE key = ?`), key); err != nil {
		return fmt.Errorf("store: deleting counter: %w", err)
	}
	return nil
}

// CounterDecr takes 1 back from key's live counter at time now when it is
// above zero, keeping its expiry; otherwise it does nothing.
func (s *Store) CounterDecr(ctx context.Context, key string, now time.Time) error {
	if _, err := s.write.ExecContext(ctx, s.q(`UPDATE rate_counters SET count = count - 1 WHERE key = ? AND expires_at > ? AND count > 0`), key, now.UnixMilli()); err != nil {
		return fmt.Errorf("store: decrementing counter: %w", err)
	}
	return nil
}

// DeleteExpiredCounters removes the counters expired at now and returns how
// many it removed. Expired counters are already ignored; this only reclaims
// their space.
func (s *Store) DeleteExpiredCounters(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM rate_counters WHERE expires_at <= ?`), now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: deleting expired counters: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: deleting expired counters: %w", err)
	}
	return n, nil
}

// Counters adapts a Store to the rate limiter's counter storage
// (ratelimit.Counters), so limits and lockouts are shared by every instance
// on the database and survive restarts.
type Counters struct {
	// S is the store the counters live in.
	S *Store
	// Now is the clock; nil means time.Now. Tests set it.
	Now func() time.Time
}

func (c Counters) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Incr adds 1 to key's counter; see Store.CounterIncr.
func (c Counters) Incr(ctx context.Context, key string, ttl time.Duration, slide bool) (int64, time.Time, error) {
	return c.S.CounterIncr(ctx, key, c.now(), ttl, slide)
}

// Get returns key's count and expiry; see Store.CounterGet.
func (c Counters) Get(ctx context.Context, key string) (int64, time.Time, error) {
	return c.S.CounterGet(ctx, key, c.now())
}

// Delete removes key's counter; see Store.CounterDelete.
func (c Counters) Delete(ctx context.Context, key string) error {
	return c.S.CounterDelete(ctx, key)
}

// Decr takes 1 back from key's counter; see Store.CounterDecr.
func (c Counters) Decr(ctx context.Context, key string) error {
	return c.S.CounterDecr(ctx, key, c.now())
}
