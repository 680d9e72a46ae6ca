// Package ratelimit counts hits and failures for Gatehouse's throttles
// ("3 per hour per email", SIGNUP_RATE, …) and login lockouts (5 failures
// per email and client IP, 30 per IP, each locking for 30 minutes). The
// counting happens in Counters: in process memory for a single instance, or
// in Redis or the SQL store so that every instance shares the counters and
// they survive restarts.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Counters is the storage a limiter counts in. Implementations: Memory and
// Redis (this package) and store.Counters (the SQL store). Every method must
// be safe for concurrent use, and Incr must be atomic: concurrent increments
// on one key are never lost.
type Counters interface {
	// Incr adds 1 to key's counter and returns the new count and when the
	// counter expires. A missing or expired counter restarts at 1 expiring
	// at now+ttl. If slide is true, every increment pushes the expiry to
	// now+ttl (lockouts: locked for ttl after the last failure); otherwise
	// the expiry stays where the first increment set it (fixed-window
	// throttles).
	Incr(ctx context.Context, key string, ttl time.Duration, slide bool) (count int64, expires time.Time, err error)
	// Get returns the current count and expiry (0 and the zero time when
	// the counter is missing or expired).
	Get(ctx context.Context, key string) (count int64, expires time.Time, err error)
	// Delete removes the counter; a missing counter is not an error.
	Delete(ctx context.Context, key string) error
	// Decr takes 1 back from a live counter above zero, keeping its expiry
	// (a reserved attempt that was not used); a missing, expired or zero
	// counter is left alone. It must be atomic like Incr.
	Decr(ctx context.Context, key string) error
}

// Rate is a limit per period, such as 5 per hour.
type Rate struct {
	// Limit is how many hits a period allows.
	Limit int64
	// Period is the window's length.
	Period time.Duration
}

// String formats r the way ParseRate reads it, e.g. "5/hour" or
// "6/20minutes".
func (r Rate) String() string {
	units := []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	for _, u := range units {
		if r.Period >= u.d && r.Period%u.d == 0 {
			n := r.Period / u.d
			if n == 1 {
				return fmt.Sprintf("%d/%s", r.Limit, u.name)
			}
			return fmt.Sprintf("%d/%d%ss", r.Limit, n, u.name)
		}
	}
	return fmt.Sprintf("%d/%s", r.Limit, r.Period)
}

// rateUnits maps the period names ParseRate accepts to their length.
var rateUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// maxPeriod bounds a parsed period, keeping multiplications far from
// overflow.
const maxPeriod = 366 * 24 * time.Hour

// ParseRate parses a rate written as "<limit>/<period>", where the period is
// a unit (second, minute, hour, day, or s, m, h, d, with common plurals and
// abbreviations) optionally preceded by a count, as in PostHog's
// "6/20minutes". Examples: "5/hour", "10/minute", "3/h", "100/day".
func ParseRate(s string) (Rate, error) {
	num, period, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("ratelimit: rate %q: want <limit>/<period>, e.g. 5/hour", s)
	}
	limit, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || limit <= 0 {
		return Rate{}, fmt.Errorf("ratelimit: rate %q: limit must be a positive integer", s)
	}
	period = strings.ToLower(strings.TrimSpace(period))
	i := 0
	for i < len(period) && period[i] >= '0' && period[i] <= '9' {
		i++
	}
	mult := int64(1)
	if i > 0 {
		mult, err = strconv.ParseInt(period[:i], 10, 64)
		if err != nil || mult <= 0 {
			return Rate{}, fmt.Errorf("ratelimit: rate %q: period count must be a positive integer", s)
		}
	}
	unit, ok := rateUnits[strings.TrimSpace(period[i:])]
	if !ok {
		return Rate{}, fmt.Errorf("ratelimit: rate %q: unknown period %q (want second, minute, hour or day)", s, period[i:])
	}
	if mult > int64(maxPeriod/unit) {
		return Rate{}, fmt.Errorf("ratelimit: rate %q: period longer than a year", s)
	}
	return Rate{Limit: limit, Period: time.Duration(mult) * unit}, nil
}

// Key builds a counter key from parts, the first naming the kind of limit
// (e.g. Key("lockout", email, ip)). The result is the first part, a colon and
// the hex SHA-256 of all parts, so user input such as email addresses never
// sits in Redis or SQL in plain text and keys have a bounded length. Parts
// are length-prefixed before hashing, so ("a:b", "c") and ("a", "b:c") differ.
func Key(parts ...string) string {
	if len(parts) == 0 {
		return ""
	}
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, p := range parts {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		h.Write([]byte(p))
	}
	return parts[0] + ":" + hex.EncodeToString(h.Sum(nil))
}

// AddressKey is the part of a client address that every per-address limit
// and lockout counts under: an IPv4 address as it is (an IPv4-mapped IPv6
// address as its IPv4 form), and an IPv6 address by its /64 network, since
// one subscriber or host usually holds a whole /64 and can pick any address
// in it. An empty address is "unknown"; one that does not parse is used as
// it is.
func AddressKey(clientIP string) string {
	if clientIP == "" {
		return "unknown"
	}
	addr, err := netip.ParseAddr(clientIP)
	if err != nil {
		return clientIP
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	network, err := addr.Prefix(64)
	if err != nil {
		return clientIP
	}
	return network.String()
}

// Limiter applies rates and lockouts to counters. It is safe for concurrent
// use.
type Limiter struct {
	c   Counters
	now func() time.Time
}

// New returns a limiter counting in c.
func New(c Counters) *Limiter {
	return &Limiter{c: c, now: time.Now}
}

// Allow counts one hit on key under rate r in a fixed window that starts with
// the window's first hit. ok is false when the hit exceeds the limit;
// retryAfter is then the time until the window ends, rounded up to whole
// seconds and at least one second (for a Retry-After header).
func (l *Limiter) Allow(ctx context.Context, key string, r Rate) (ok bool, retryAfter time.Duration, err error) {
	if r.Limit <= 0 || r.Period <= 0 {
		return false, 0, fmt.Errorf("ratelimit: invalid rate %v", r)
	}
	count, expires, err := l.c.Incr(ctx, key, r.Period, false)
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: counting %s: %w", key, err)
	}
	if count <= r.Limit {
		return true, 0, nil
	}
	return false, roundUp(expires.Sub(l.now())), nil
}

// roundUp rounds d up to whole seconds, at least one.
func roundUp(d time.Duration) time.Duration {
	if d <= time.Second {
		return time.Second
	}
	return (d + time.Second - 1).Truncate(time.Second)
}

// RetryAfter formats d as a Retry-After header value: whole seconds, rounded
// up, at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.FormatInt(int64(roundUp(d)/time.Second), 10)
}

// Lockout tracks failures per key: once Limit failures have happened with no
// gap of Cooloff between them, the key is locked until Cooloff after the
// last failure.
type Lockout struct {
	// Limit is the number of failures that locks a key.
	Limit int64
	// Cooloff is how long a key stays locked after its last failure, and
	// how long failures are remembered.
	Cooloff time.Duration

	l *Limiter
}

// ErrInvalidLockout is returned by a Lockout whose Limit or Cooloff is not
// positive.
var ErrInvalidLockout = errors.New("ratelimit: lockout limit and cooloff must be positive")

// Lockout returns a lockout locking a key after limit failures for cooloff.
func (l *Limiter) Lockout(limit int64, cooloff time.Duration) *Lockout {
	return &Lockout{Limit: limit, Cooloff: cooloff, l: l}
}

// Locked reports whether key is locked; retryAfter is then the time until
// the lock ends, rounded up to whole seconds and at least one second.
func (lo *Lockout) Locked(ctx context.Context, key string) (locked bool, retryAfter time.Duration, err error) {
	if lo.Limit <= 0 || lo.Cooloff <= 0 {
		return false, 0, ErrInvalidLockout
	}
	count, expires, err := lo.l.c.Get(ctx, key)
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: reading %s: %w", key, err)
	}
	now := lo.l.now()
	if count < lo.Limit || !expires.After(now) {
		return false, 0, nil
	}
	return true, roundUp(expires.Sub(now)), nil
}

// Fail records a failure on key and reports whether key is now locked.
func (lo *Lockout) Fail(ctx context.Context, key string) (nowLocked bool, err error) {
	if lo.Limit <= 0 || lo.Cooloff <= 0 {
		return false, ErrInvalidLockout
	}
	count, _, err := lo.l.c.Incr(ctx, key, lo.Cooloff, true)
	if err != nil {
		return false, fmt.Errorf("ratelimit: counting failure on %s: %w", key, err)
	}
	return count >= lo.Limit, nil
}

// Reserve counts one attempt on key before its outcome is known, so that
// concurrent attempts cannot all pass a check made before any of them
// failed. It reports the attempt's place: an attempt whose count is above
// Limit must not run, and is given back with Release. A reserved attempt
// that fails simply stays counted.
func (lo *Lockout) Reserve(ctx context.Context, key string) (count int64, err error) {
	if lo.Limit <= 0 || lo.Cooloff <= 0 {
		return 0, ErrInvalidLockout
	}
	count, _, err = lo.l.c.Incr(ctx, key, lo.Cooloff, true)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: reserving an attempt on %s: %w", key, err)
	}
	return count, nil
}

// Release gives back an attempt reserved on key that did not fail.
func (lo *Lockout) Release(ctx context.Context, key string) error {
	if err := lo.l.c.Decr(ctx, key); err != nil {
		return fmt.Errorf("ratelimit: releasing an attempt on %s: %w", key, err)
	}
	return nil
}

// Reset forgets key's failures, unlocking it (after a successful login).
// Most logins have no failures to forget: the counter is read first, so
// they cost no write (on SQLite, no fsync on the single writer).
func (lo *Lockout) Reset(ctx context.Context, key string) error {
	count, _, err := lo.l.c.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("ratelimit: reading %s: %w", key, err)
	}
	if count == 0 {
		return nil
	}
	if err := lo.l.c.Delete(ctx, key); err != nil {
		return fmt.Errorf("ratelimit: resetting %s: %w", key, err)
	}
	return nil
}
