package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// clock is a test clock: fake ones move only when advanced; real ones are
// time.Now and advancing sleeps (Redis keeps its own time).
type clock struct {
	fake bool
	mu   sync.Mutex
	t    time.Time
}

func newClock(fake bool) *clock {
	return &clock{fake: fake, t: time.UnixMilli(1_800_000_000_000)}
}

func (c *clock) Now() time.Time {
	if !c.fake {
		return time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	if !c.fake {
		time.Sleep(d)
		return
	}
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// slack is how far apart two expiries computed from one stored expiry may be:
// none on a fake clock, some on Redis where expiries are derived from PTTL.
func (c *clock) slack() time.Duration {
	if c.fake {
		return 0
	}
	return 50 * time.Millisecond
}

// backend opens two handles on one fresh counter storage, as two instances
// of the server would have.
type backend struct {
	name     string
	fakeTime bool
	open     func(t *testing.T, clk *clock) [2]Counters
}

func backends() []backend {
	return []backend{
		{name: "memory", fakeTime: true, open: func(t *testing.T, clk *clock) [2]Counters {
			m := NewMemory()
			m.now = clk.Now
			return [2]Counters{m, m}
		}},
		{name: "redis", open: openRedis},
		{name: "sqlite", fakeTime: true, open: func(t *testing.T, clk *clock) [2]Counters { return openSQL(t, clk, store.SQLite) }},
		{name: "postgres", fakeTime: true, open: func(t *testing.T, clk *clock) [2]Counters { return openSQL(t, clk, store.Postgres) }},
	}
}

func openRedis(t *testing.T, clk *clock) [2]Counters {
	t.Helper()
	opts, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatalf("GATEHOUSE_TEST_REDIS_URL: %v", err)
	}
	// A random prefix per test keeps runs apart without flushing anything;
	// every key expires by itself.
	prefix := RedisPrefix + "test:" + randomName() + ":"
	var out [2]Counters
	for i := range out {
		c := redis.NewClient(opts)
		t.Cleanup(func() { c.Close() })
		if err := c.Ping(context.Background()).Err(); err != nil {
			testenv.Unavailable(t, "redis", err.Error())
		}
		r := NewRedis(c)
		r.Prefix = prefix
		out[i] = r
	}
	// Remove this test's keys rather than leave them to expire.
	t.Cleanup(func() {
		c := redis.NewClient(opts)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return out
}

func openSQL(t *testing.T, clk *clock, engine store.Engine) [2]Counters {
	t.Helper()
	opts := storetest.Shared(t, engine)
	var out [2]Counters
	for i := range out {
		s, err := store.Open(context.Background(), opts)
		if err != nil {
			t.Fatalf("opening %s store: %v", engine, err)
		}
		t.Cleanup(func() { s.Close() })
		if i == 0 {
			if _, err := s.Migrate(context.Background()); err != nil {
				t.Fatalf("migrating %s store: %v", engine, err)
			}
		}
		out[i] = store.Counters{S: s, Now: clk.Now}
	}
	return out
}

func randomName() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// forEachBackend runs fn in a parallel subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, clk *clock, c [2]Counters, l *Limiter)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock(b.fakeTime)
			c := b.open(t, clk)
			l := New(c[0])
			l.now = clk.Now
			fn(t, clk, c, l)
		})
	}
}

func near(a, b, slack time.Duration) bool {
	d := a - b
	return d <= slack && d >= -slack
}

func mustIncr(t *testing.T, c Counters, key string, ttl time.Duration, slide bool) (int64, time.Time) {
	t.Helper()
	n, exp, err := c.Incr(context.Background(), key, ttl, slide)
	if err != nil {
		t.Fatalf("Incr(%s): %v", key, err)
	}
	return n, exp
}

func mustGet(t *testing.T, c Counters, key string) (int64, time.Time) {
	t.Helper()
	n, exp, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return n, exp
}

func TestFixedWindow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		const ttl = 300 * time.Millisecond
		key := Key("test", randomName())
		if n, exp := mustGet(t, c[0], key); n != 0 || !exp.IsZero() {
			t.Fatalf("missing counter: Get = %d, %v; want 0, zero", n, exp)
		}
		start := clk.Now()
		n, first := mustIncr(t, c[0], key, ttl, false)
		if n != 1 || !near(first.Sub(start), ttl, clk.slack()) {
			t.Fatalf("first Incr = %d, expires in %v; want 1, %v", n, first.Sub(start), ttl)
		}
		clk.advance(150 * time.Millisecond)
		for want := int64(2); want <= 3; want++ {
			n, exp := mustIncr(t, c[0], key, ttl, false)
			if n != want || !near(exp.Sub(first), 0, clk.slack()) {
				t.Fatalf("Incr = %d, expiry moved by %v; want %d, unmoved", n, exp.Sub(first), want)
			}
		}
		if n, exp := mustGet(t, c[0], key); n != 3 || !near(exp.Sub(first), 0, clk.slack()) {
			t.Fatalf("Get = %d, expiry moved by %v; want 3, unmoved", n, exp.Sub(first))
		}
		clk.advance(200 * time.Millisecond) // past the window
		if n, exp := mustGet(t, c[0], key); n != 0 || !exp.IsZero() {
			t.Fatalf("expired counter: Get = %d, %v; want 0, zero", n, exp)
		}
		now := clk.Now()
		n, exp := mustIncr(t, c[0], key, ttl, false)
		if n != 1 || !near(exp.Sub(now), ttl, clk.slack()) {
			t.Fatalf("Incr after expiry = %d, expires in %v; want 1, %v", n, exp.Sub(now), ttl)
		}
		if err := c[0].Delete(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		if n, _ := mustGet(t, c[0], key); n != 0 {
			t.Fatalf("Get after Delete = %d", n)
		}
		if err := c[0].Delete(context.Background(), key); err != nil {
			t.Fatalf("deleting a missing counter: %v", err)
		}
	})
}

func TestSlidingExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		const ttl = 400 * time.Millisecond
		key := Key("test", randomName())
		mustIncr(t, c[0], key, ttl, true)
		clk.advance(200 * time.Millisecond)
		now := clk.Now()
		n, exp := mustIncr(t, c[0], key, ttl, true)
		if n != 2 || !near(exp.Sub(now), ttl, clk.slack()) {
			t.Fatalf("second Incr = %d, expires in %v; want 2, %v", n, exp.Sub(now), ttl)
		}
		clk.advance(250 * time.Millisecond) // past the first expiry, not the second
		if n, _ := mustGet(t, c[0], key); n != 2 {
			t.Fatalf("Get after slide = %d, want 2", n)
		}
		clk.advance(200 * time.Millisecond) // past the second
		if n, _ := mustGet(t, c[0], key); n != 0 {
			t.Fatalf("Get after expiry = %d, want 0", n)
		}
		if n, _ := mustIncr(t, c[0], key, ttl, true); n != 1 {
			t.Fatalf("Incr after expiry = %d, want 1", n)
		}
	})
}

func TestAllow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		ctx := context.Background()
		key := Key("throttle", randomName())
		r := Rate{Limit: 3, Period: 2 * time.Second}
		for i := range 3 {
			ok, retry, err := l.Allow(ctx, key, r)
			if err != nil || !ok || retry != 0 {
				t.Fatalf("hit %d: Allow = %v, %v, %v; want allowed", i+1, ok, retry, err)
			}
		}
		ok, retry, err := l.Allow(ctx, key, r)
		if err != nil || ok || retry != 2*time.Second {
			t.Fatalf("hit 4: Allow = %v, %v, %v; want denied, retry after 2s", ok, retry, err)
		}
		if other, _, _ := l.Allow(ctx, Key("throttle", randomName()), r); !other {
			t.Fatal("another key was throttled")
		}
		if clk.fake {
			clk.advance(1500 * time.Millisecond)
			if ok, retry, _ := l.Allow(ctx, key, r); ok || retry != time.Second {
				t.Fatalf("after 1.5s: Allow = %v, %v; want denied, retry after 1s", ok, retry)
			}
			clk.advance(500 * time.Millisecond)
			if ok, _, _ := l.Allow(ctx, key, r); !ok {
				t.Fatal("new window: denied")
			}
		}
		// A short window: retry-after is at least a second, and the window
		// really ends.
		short := Rate{Limit: 1, Period: 300 * time.Millisecond}
		key = Key("throttle", randomName())
		if ok, _, _ := l.Allow(ctx, key, short); !ok {
			t.Fatal("short window: first hit denied")
		}
		if ok, retry, _ := l.Allow(ctx, key, short); ok || retry != time.Second {
			t.Fatalf("short window: Allow = %v, %v; want denied, retry after 1s", ok, retry)
		}
		clk.advance(350 * time.Millisecond)
		if ok, _, _ := l.Allow(ctx, key, short); !ok {
			t.Fatal("short window: denied after the window")
		}
		if _, _, err := l.Allow(ctx, key, Rate{}); err == nil {
			t.Fatal("Allow with a zero rate: no error")
		}
	})
}

func TestLockout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		ctx := context.Background()
		lo := l.Lockout(5, 30*time.Minute)
		key := Key("lockout", randomName()+"@example.com", "203.0.113.9")
		fail := func(want bool) {
			t.Helper()
			locked, err := lo.Fail(ctx, key)
			if err != nil || locked != want {
				t.Fatalf("Fail = %v, %v; want %v", locked, err, want)
			}
		}
		checkLocked := func(want bool, wantRetry time.Duration) {
			t.Helper()
			locked, retry, err := lo.Locked(ctx, key)
			if err != nil || locked != want || retry != wantRetry {
				t.Fatalf("Locked = %v, %v, %v; want %v, %v", locked, retry, err, want, wantRetry)
			}
		}
		for range 4 {
			fail(false)
		}
		checkLocked(false, 0)
		fail(true)
		checkLocked(true, 30*time.Minute)
		if clk.fake {
			clk.advance(10 * time.Minute)
			checkLocked(true, 20*time.Minute)
			fail(true) // a failure while locked extends the lock
			checkLocked(true, 30*time.Minute)
		}
		if err := lo.Reset(ctx, key); err != nil {
			t.Fatal(err)
		}
		checkLocked(false, 0)

		// 4 failures, then a success resets: the next failure starts over.
		for range 4 {
			fail(false)
		}
		if err := lo.Reset(ctx, key); err != nil {
			t.Fatal(err)
		}
		fail(false)
		checkLocked(false, 0)

		// The lock ends cooloff after the last failure.
		short := l.Lockout(2, 300*time.Millisecond)
		key = Key("lockout", randomName())
		short.Fail(ctx, key)
		if locked, _ := short.Fail(ctx, key); !locked {
			t.Fatal("short lockout: not locked after 2 failures")
		}
		if locked, retry, _ := short.Locked(ctx, key); !locked || retry != time.Second {
			t.Fatalf("short lockout: Locked = %v, %v; want true, 1s", locked, retry)
		}
		clk.advance(350 * time.Millisecond)
		if locked, _, _ := short.Locked(ctx, key); locked {
			t.Fatal("short lockout: still locked after cooloff")
		}

		bad := l.Lockout(0, time.Minute)
		if _, err := bad.Fail(ctx, key); err != ErrInvalidLockout {
			t.Fatalf("zero-limit lockout: Fail error %v", err)
		}
	})
}

// TestConcurrentIncr checks that no increment is lost when many requests
// count on one key at once.
func TestConcurrentIncr(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		const n = 50
		key := Key("test", randomName())
		var wg sync.WaitGroup
		counts := make([]int64, n)
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				// Half on each instance, where there are two.
				counts[i], _, errs[i] = c[i%2].Incr(context.Background(), key, time.Minute, i%3 == 0)
			})
		}
		wg.Wait()
		seen := make(map[int64]bool)
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Incr %d: %v", i, errs[i])
			}
			if seen[counts[i]] {
				t.Fatalf("count %d returned twice", counts[i])
			}
			seen[counts[i]] = true
		}
		if got, _ := mustGet(t, c[0], key); got != n {
			t.Fatalf("after %d concurrent Incr: count %d", n, got)
		}
	})
}

// TestSharedAcrossInstances mirrors two server instances: failures counted
// on either lock the key on both.
func TestSharedAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		ctx := context.Background()
		var los [2]*Lockout
		for i := range c {
			li := New(c[i])
			li.now = clk.Now
			los[i] = li.Lockout(5, 30*time.Minute)
		}
		key := Key("lockout", "shared@example.com", randomName())
		for range 3 {
			if locked, err := los[0].Fail(ctx, key); err != nil || locked {
				t.Fatalf("instance A Fail = %v, %v", locked, err)
			}
		}
		if locked, err := los[1].Fail(ctx, key); err != nil || locked {
			t.Fatalf("instance B 4th Fail = %v, %v", locked, err)
		}
		if locked, err := los[1].Fail(ctx, key); err != nil || !locked {
			t.Fatalf("instance B 5th Fail = %v, %v; want locked", locked, err)
		}
		for i, lo := range los {
			if locked, _, err := lo.Locked(ctx, key); err != nil || !locked {
				t.Fatalf("instance %d: Locked = %v, %v; want locked", i, locked, err)
			}
		}
		if err := los[1].Reset(ctx, key); err != nil {
			t.Fatal(err)
		}
		if locked, _, _ := los[0].Locked(ctx, key); locked {
			t.Fatal("instance A still locked after B reset")
		}
	})
}

func TestRedisKeys(t *testing.T) {
	clk := newClock(false)
	c := openRedis(t, clk)
	r := c[0].(*Redis)
	key := Key("test", randomName())
	mustIncr(t, r, key, time.Minute, false)
	pttl, err := r.client.PTTL(context.Background(), r.Prefix+key).Result()
	if err != nil || pttl <= 0 || pttl > time.Minute {
		t.Fatalf("PTTL of the stored key = %v, %v; want within a minute", pttl, err)
	}
	if !strings.HasPrefix(r.Prefix, RedisPrefix) {
		t.Fatalf("prefix %q lacks %q", r.Prefix, RedisPrefix)
	}
	// A key without an expiry (not written by Incr) gets one on Incr.
	bare := Key("test", randomName())
	if err := r.client.Set(context.Background(), r.Prefix+bare, 7, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := mustIncr(t, r, bare, time.Minute, false); n != 8 {
		t.Fatalf("Incr on a bare key = %d, want 8", n)
	}
	if pttl, _ := r.client.PTTL(context.Background(), r.Prefix+bare).Result(); pttl <= 0 {
		t.Fatalf("bare key still has no expiry: %v", pttl)
	}
}

func TestSQLDeleteExpired(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, engine)
			ctx := context.Background()
			now := time.UnixMilli(1_800_000_000_000)
			for i, ttl := range []time.Duration{time.Second, time.Second, time.Minute} {
				if _, _, err := s.CounterIncr(ctx, fmt.Sprint("k", i), now, ttl, false); err != nil {
					t.Fatal(err)
				}
			}
			n, err := s.DeleteExpiredCounters(ctx, now.Add(time.Second))
			if err != nil || n != 2 {
				t.Fatalf("DeleteExpiredCounters = %d, %v; want 2", n, err)
			}
			if c, _, _ := s.CounterGet(ctx, "k2", now); c != 1 {
				t.Fatalf("live counter after cleanup: %d", c)
			}
		})
	}
}

func TestMemoryBounded(t *testing.T) {
	clk := newClock(true)
	m := NewMemory()
	m.now = clk.Now
	m.MaxKeys = 64
	ctx := context.Background()
	// Old, short-lived counters: expired by the time the map fills.
	for i := range 32 {
		m.Incr(ctx, fmt.Sprint("short", i), time.Second, false)
	}
	clk.advance(2 * time.Second)
	m.Incr(ctx, "keep", time.Hour, true)
	for i := range 31 {
		m.Incr(ctx, fmt.Sprint("long", i), time.Hour, false)
	}
	// Full: the next key drops the expired ones, not the live ones.
	m.Incr(ctx, "new", time.Hour, false)
	if got := m.Len(); got != 33 {
		t.Fatalf("after dropping expired: %d counters, want 33", got)
	}
	if n, _, _ := m.Get(ctx, "keep"); n != 1 {
		t.Fatal("a live counter was dropped while expired ones remained")
	}
	// Flooding with live keys never grows past the cap; the oldest go.
	for i := range 1000 {
		m.Incr(ctx, fmt.Sprint("flood", i), time.Hour, false)
		if m.Len() > m.MaxKeys {
			t.Fatalf("%d counters, above the cap of %d", m.Len(), m.MaxKeys)
		}
	}
	if n, _, _ := m.Get(ctx, "flood999"); n != 1 {
		t.Fatal("the newest counter was dropped")
	}
	if n, _, _ := m.Get(ctx, "keep"); n != 0 {
		t.Fatal("the oldest counter survived a flood")
	}
	// Expired counters are dropped when read.
	clk.advance(2 * time.Hour)
	before := m.Len()
	m.Get(ctx, "flood999")
	if m.Len() != before-1 {
		t.Fatal("an expired counter was not dropped on Get")
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want Rate
		err  bool
	}{
		{in: "5/hour", want: Rate{5, time.Hour}},
		{in: "10/minute", want: Rate{10, time.Minute}},
		{in: "3/h", want: Rate{3, time.Hour}},
		{in: "100/day", want: Rate{100, 24 * time.Hour}},
		{in: "6/20minutes", want: Rate{6, 20 * time.Minute}},
		{in: "1/s", want: Rate{1, time.Second}},
		{in: "2/sec", want: Rate{2, time.Second}},
		{in: "7/m", want: Rate{7, time.Minute}},
		{in: "8/d", want: Rate{8, 24 * time.Hour}},
		{in: "4/2hours", want: Rate{4, 2 * time.Hour}},
		{in: " 5 / Hour ", want: Rate{5, time.Hour}},
		{in: "", err: true},
		{in: "5", err: true},
		{in: "5/", err: true},
		{in: "/hour", err: true},
		{in: "0/hour", err: true},
		{in: "-1/hour", err: true},
		{in: "x/hour", err: true},
		{in: "5/fortnight", err: true},
		{in: "5/0minutes", err: true},
		{in: "5/20", err: true},
		{in: "5/hour/2", err: true},
		{in: "5/99999999999999999999days", err: true},
		{in: "5/1000days", err: true},
		{in: "1.5/hour", err: true},
	}
	for _, tt := range tests {
		got, err := ParseRate(tt.in)
		if tt.err {
			if err == nil {
				t.Errorf("ParseRate(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		if back, err := ParseRate(got.String()); err != nil || back != got {
			t.Errorf("ParseRate(%q.String() = %q) = %v, %v", tt.in, got.String(), back, err)
		}
	}
}

func TestRateString(t *testing.T) {
	tests := []struct {
		r    Rate
		want string
	}{
		{Rate{5, time.Hour}, "5/hour"},
		{Rate{6, 20 * time.Minute}, "6/20minutes"},
		{Rate{100, 24 * time.Hour}, "100/day"},
		{Rate{3, 90 * time.Second}, "3/90seconds"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestKey(t *testing.T) {
	k := Key("lockout", "Alice@Example.com", "203.0.113.9")
	if !strings.HasPrefix(k, "lockout:") || len(k) != len("lockout:")+64 {
		t.Fatalf("Key = %q, want lockout: and 64 hex digits", k)
	}
	if strings.Contains(strings.ToLower(k), "alice") {
		t.Fatalf("Key %q holds the email in plain text", k)
	}
	if k != Key("lockout", "Alice@Example.com", "203.0.113.9") {
		t.Fatal("Key is not deterministic")
	}
	distinct := [][]string{
		{"lockout", "a:b", "c"},
		{"lockout", "a", "b:c"},
		{"lockout", "ab", "c"},
		{"lockout", "a", "bc"},
		{"throttle", "a", "bc"},
		{"lockout", "a", "bc", ""},
	}
	seen := make(map[string]bool)
	for _, parts := range distinct {
		k := Key(parts...)
		if seen[k] {
			t.Fatalf("Key(%q) collides", parts)
		}
		seen[k] = true
	}
	if Key() != "" {
		t.Fatal("Key() not empty")
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "1"},
		{-time.Second, "1"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{time.Second + time.Millisecond, "2"},
		{30 * time.Minute, "1800"},
		{30*time.Minute - time.Millisecond, "1800"},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.d); got != tt.want {
			t.Errorf("RetryAfter(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
