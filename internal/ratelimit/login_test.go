package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func TestAddressKey(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "unknown"},
		{"203.0.113.7", "203.0.113.7"},
		{"::ffff:203.0.113.7", "203.0.113.7"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "not an address"},
	} {
		if got := AddressKey(tc.in); got != tc.want {
			t.Errorf("AddressKey(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecr(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		ctx := context.Background()
		key := Key("test", randomName())
		if err := c[0].Decr(ctx, key); err != nil {
			t.Fatal(err)
		}
		if n, _ := mustGet(t, c[0], key); n != 0 {
			t.Fatalf("Decr of a missing counter made %d", n)
		}
		mustIncr(t, c[0], key, time.Hour, false)
		_, exp := mustIncr(t, c[1], key, time.Hour, false)
		if err := c[1].Decr(ctx, key); err != nil {
			t.Fatal(err)
		}
		n, exp2 := mustGet(t, c[0], key)
		if n != 1 || !near(exp2.Sub(exp), 0, clk.slack()) {
			t.Fatalf("after 2 Incr and a Decr: %d expiring %v, want 1 expiring %v", n, exp2, exp)
		}
		for range 3 {
			if err := c[0].Decr(ctx, key); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := mustGet(t, c[1], key); n != 0 {
			t.Fatalf("Decr went below zero: %d", n)
		}
	})
}

// TestLoginLockoutReservesChecks: 40 concurrent attempts on two instances
// sharing the counters get at most 5 checks; the refused ones are answered
// locked or busy, and the failures leave the key locked.
func TestLoginLockoutReservesChecks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		ctx := context.Background()
		var guards [2]*LoginLockout
		for i := range c {
			li := New(c[i])
			li.now = clk.Now
			guards[i] = NewLoginLockout(li, 5, 30*time.Minute)
		}
		email, ip := randomName()+"@example.com", "2001:db8::"+randomName()[:4]
		var checks, other atomic.Int64
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				a, err := guards[i%2].Reserve(ctx, email, ip)
				if err != nil {
					if e, ok := gatehouse.AsError(err); !ok || (e.Code != "too_many_failed_attempts" && e.Code != "server_busy") {
						other.Add(1)
					}
					return
				}
				checks.Add(1)
				a.Failed(ctx)
			})
		}
		wg.Wait()
		if checks.Load() > 5 || other.Load() != 0 {
			t.Fatalf("%d checks (want at most 5), %d unexpected refusals", checks.Load(), other.Load())
		}
		if err := guards[0].Check(ctx, email, ip); err == nil {
			t.Fatal("not locked after the burst")
		}
	})
}

// TestLoginLockoutReleaseAndSuccess: a released attempt and a success give
// their places back; the address and account counters keep failures.
func TestLoginLockoutReleaseAndSuccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		ctx := context.Background()
		g := NewLoginLockout(l, 5, 30*time.Minute)
		email := randomName() + "@example.com"
		ip := "198.51.100." + randomName()[:2]
		for range 10 {
			a, err := g.Reserve(ctx, email, ip)
			if err != nil {
				t.Fatal(err)
			}
			a.Release(ctx)
		}
		for range 4 {
			a, err := g.Reserve(ctx, email, ip)
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Failed(ctx); err != nil {
				t.Fatalf("failure below the limit: %v", err)
			}
		}
		a, err := g.Reserve(ctx, email, ip)
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Succeeded(ctx); err != nil {
			t.Fatal(err)
		}
		for _, c := range g.counters(email, ip) {
			n, _ := mustGet(t, l.c, c.key)
			want := map[string]int64{"email": 0, "address": 4, "account": 4}[c.scope]
			if n != want {
				t.Errorf("%s counter %d, want %d", c.scope, n, want)
			}
		}
	})
}

// TestAccountCeilingAcrossAddresses: rotating addresses (IPv4, and IPv6
// beyond one /64) gets at most PerAccountFailureLimit failures per email;
// Unlock lifts the account lock.
func TestAccountCeilingAcrossAddresses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		ctx := context.Background()
		g := NewLoginLockout(l, 5, 30*time.Minute)
		email := randomName() + "@example.com"
		checks := 0
		for i := range 60 {
			ip := "2001:db8:" + randomName()[:4] + ":" + string(rune('a'+i%6)) + "::1"
			if i%2 == 0 {
				ip = "192.0.2." + string(rune('1'+i%9))
			}
			a, err := g.Reserve(ctx, email, ip)
			if err != nil {
				continue
			}
			checks++
			a.Failed(ctx)
		}
		if checks != PerAccountFailureLimit {
			t.Fatalf("%d checks across addresses, want %d", checks, PerAccountFailureLimit)
		}
		// A password from a fresh address is refused; a passkey sign-in,
		// which cannot be guessed, is not held to the account ceiling.
		if _, err := g.Reserve(ctx, email, "203.0.113.7"); err == nil {
			t.Fatal("a password check passed the account ceiling")
		}
		if err := g.Check(ctx, email, "203.0.113.7"); err != nil {
			t.Fatalf("the account ceiling locked a passkey sign-in out: %v", err)
		}
		if err := g.Unlock(ctx, email); err != nil {
			t.Fatal(err)
		}
		if _, err := g.Reserve(ctx, email, "203.0.113.99"); err != nil {
			t.Fatalf("after Unlock: %v", err)
		}
	})
}
