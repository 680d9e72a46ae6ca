package api_test

import (
	"context"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

func TestLockoutAfterFiveFailures(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Trusted: "127.0.0.1", Behind: true})
	from := func(ip string) *apitest.Browser {
		b := apitest.NewBrowser(t, ts)
		b.Extra = []string{"X-Forwarded-For", ip}
		return b
	}
	attacker := from("203.0.113.7")
	for i := 1; i <= 4; i++ {
		if resp, body := attacker.Login("owner@example.com", "wrong guess"); resp.StatusCode != 400 || body["code"] != "invalid_credentials" {
			t.Fatalf("failure %d: %d %v", i, resp.StatusCode, body)
		}
	}
	apitest.AssertLocked(t, attacker, "wrong guess")
	// Locked even with the right password, and the email's case does not help.
	apitest.AssertLocked(t, attacker, apitest.OwnerPassword)
	if resp, _ := attacker.Login("OWNER@EXAMPLE.COM", apitest.OwnerPassword); resp.StatusCode != 403 {
		t.Fatalf("case change escaped the lockout: %d", resp.StatusCode)
	}
	// The owner, from another address, still gets in.
	if resp, body := from("198.51.100.20").Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
		t.Fatalf("lockout spilled onto another address: %d %v", resp.StatusCode, body)
	}
}

func TestSuccessResetsTheEmailCounter(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
	for i := 0; i < 4; i++ {
		b.Login("owner@example.com", "wrong guess")
	}
	if resp, _ := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
		t.Fatalf("4 failures must not lock: %d", resp.StatusCode)
	}
	for i := 0; i < 4; i++ {
		if resp, _ := b.Login("owner@example.com", "wrong guess"); resp.StatusCode != 400 {
			t.Fatalf("counter not reset by the success: %d", resp.StatusCode)
		}
	}
}

func TestAddressLockedAcrossEmails(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
	for i := 0; i < 29; i++ {
		email := "user" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.com"
		if resp, body := b.Login(email, "guess"); resp.StatusCode != 400 {
			t.Fatalf("attempt %d: %d %v", i, resp.StatusCode, body)
		}
	}
	if resp, body := b.Login("someone-else@example.com", "guess"); resp.StatusCode != 403 || body["code"] != "too_many_failed_attempts" {
		t.Fatalf("30th failure from one address: %d %v", resp.StatusCode, body)
	}
	apitest.AssertLocked(t, b, apitest.OwnerPassword)
}

// TestLockoutSharedBetweenInstances runs two Gatehouse servers on one
// PostgreSQL (and again with Redis counters): 3 failures on one and 2 on
// the other lock the account on both.
func TestLockoutSharedBetweenInstances(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "two instances on one database, with the counters in PostgreSQL and in Redis")
	run := func(t *testing.T, counters func() ratelimit.Counters) {
		opts := storetest.Shared(t, store.Postgres)
		o := apitest.Options{StoreOpts: &opts}
		a := apitest.NewServer(t, store.Postgres, withCounters(o, counters()))
		b := apitest.NewServer(t, store.Postgres, withCounters(o, counters()))
		ba, bb := apitest.NewBrowser(t, a), apitest.NewBrowser(t, b)
		for i := 0; i < 3; i++ {
			if resp, _ := ba.Login("owner@example.com", "wrong"); resp.StatusCode != 400 {
				t.Fatalf("instance A failure %d: %d", i, resp.StatusCode)
			}
		}
		if resp, _ := bb.Login("owner@example.com", "wrong"); resp.StatusCode != 400 {
			t.Fatalf("instance B failure 4: %d", resp.StatusCode)
		}
		apitest.AssertLocked(t, bb, "wrong") // the 5th failure, on B
		apitest.AssertLocked(t, ba, apitest.OwnerPassword)
		apitest.AssertLocked(t, bb, apitest.OwnerPassword)
	}
	t.Run("postgres counters", func(t *testing.T) { run(t, func() ratelimit.Counters { return nil }) })
	t.Run("redis counters", func(t *testing.T) {
		opt, err := redis.ParseURL(testenv.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		prefix := "gatehouse:test:" + t.Name() + ":" + apitest.StoretestSuffix(t) + ":"
		run(t, func() ratelimit.Counters {
			c := redis.NewClient(opt)
			t.Cleanup(func() {
				keys, _ := c.Keys(context.Background(), prefix+"*").Result()
				if len(keys) > 0 {
					c.Del(context.Background(), keys...)
				}
				c.Close()
			})
			r := ratelimit.NewRedis(c)
			r.Prefix = prefix
			return r
		})
	})
}

func withCounters(o apitest.Options, c ratelimit.Counters) apitest.Options {
	o.Counters = c
	return o
}
