package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// RedisPrefix starts every key a Redis counter store writes.
const RedisPrefix = "gatehouse:rl:"

// incrScript adds one to KEYS[1] and sets its expiry to ARGV[1]
// milliseconds when the counter is new or ARGV[2] is "1" (sliding), in one
// atomic step. It returns the count and the remaining milliseconds. A key
// found without an expiry (never written by this script) is given one, so no
// counter lives forever.
var incrScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl = tonumber(ARGV[1])
if n == 1 or ARGV[2] == '1' then
	redis.call('PEXPIRE', KEYS[1], ttl)
	return {n, ttl}
end
local pttl = redis.call('PTTL', KEYS[1])
if pttl < 0 then
	redis.call('PEXPIRE', KEYS[1], ttl)
	pttl = ttl
end
return {n, pttl}
`)

// getScript returns KEYS[1]'s count and remaining milliseconds, read
// together.
var getScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
	return {0, -2}
end
return {tonumber(v), redis.call('PTTL', KEYS[1])}
`)

// decrScript takes one from KEYS[1] when it exists and is above zero,
// keeping its expiry.
var decrScript = redis.NewScript(`
local v = tonumber(redis.call('GET', KEYS[1]))
if v and v > 0 then
	redis.call('DECR', KEYS[1])
end
return 0
`)

// Redis keeps counters in Redis, shared by every instance using the same
// Redis and kept across restarts (as far as Redis keeps them). It is safe for
// concurrent use.
type Redis struct {
	client redis.UniversalClient
	// Prefix starts every key; NewRedis sets RedisPrefix.
	Prefix string
}

// NewRedis returns a counter store in client's Redis (a *redis.Client or any
// other go-redis universal client).
func NewRedis(client redis.UniversalClient) *Redis {
	return &Redis{client: client, Prefix: RedisPrefix}
}

// redisPingTimeout bounds a readiness probe's PING.
const redisPingTimeout = 2 * time.Second

// Ping checks that Redis answers (readiness probes).
func (r *Redis) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis ping: %w", err)
	}
	return nil
}

// unavailable marks a failed Redis call as a dependency outage: whatever
// went wrong (refused, timed out, out of memory, loading), the counter was
// neither read nor written, and callers must not guess its value.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", gatehouse.ErrUnavailable, err)
}

// Incr adds 1 to key's counter atomically; see Counters.
func (r *Redis) Incr(ctx context.Context, key string, ttl time.Duration, slide bool) (int64, time.Time, error) {
	ms := max(ttl.Milliseconds(), 1)
	slideArg := "0"
	if slide {
		slideArg = "1"
	}
	vals, err := incrScript.Run(ctx, r.client, []string{r.Prefix + key}, ms, slideArg).Int64Slice()
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("ratelimit: redis incr: %w", unavailable(err))
	}
	if len(vals) != 2 {
		return 0, time.Time{}, fmt.Errorf("ratelimit: redis incr: unexpected reply %v", vals)
	}
	return vals[0], time.Now().Add(time.Duration(vals[1]) * time.Millisecond), nil
}

// Get returns key's count and expiry; see Counters.
func (r *Redis) Get(ctx context.Context, key string) (int64, time.Time, error) {
	vals, err := getScript.Run(ctx, r.client, []string{r.Prefix + key}).Int64Slice()
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("ratelimit: redis get: %w", unavailable(err))
	}
	if len(vals) != 2 {
		return 0, time.Time{}, fmt.Errorf("ratelimit: redis get: unexpected reply %v", vals)
	}
	if vals[0] == 0 || vals[1] == -2 {
		return 0, time.Time{}, nil
	}
	if vals[1] < 0 {
		// No expiry: not written by Incr. Report it as expiring now rather
		// than never.
		return vals[0], time.Now(), nil
	}
	return vals[0], time.Now().Add(time.Duration(vals[1]) * time.Millisecond), nil
}

// Delete removes key's counter; see Counters.
func (r *Redis) Delete(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.Prefix+key).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis delete: %w", unavailable(err))
	}
	return nil
}

// Decr takes 1 back from key's counter atomically; see Counters.
func (r *Redis) Decr(ctx context.Context, key string) error {
	if err := decrScript.Run(ctx, r.client, []string{r.Prefix + key}).Err(); err != nil && err != redis.Nil {
		return fmt.Errorf("ratelimit: redis decr: %w", err)
	}
	return nil
}
