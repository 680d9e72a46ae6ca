package ratelimit

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func TestTwoFactorDelay(t *testing.T) {
	for failures, want := range map[int64]time.Duration{0: 0, 4: 0, 5: time.Second, 6: 2 * time.Second, 10: 32 * time.Second,
		16: 2048 * time.Second, 17: time.Hour, 1000: time.Hour} {
		if got := TwoFactorDelay(failures); got != want {
			t.Errorf("TwoFactorDelay(%d) = %v, want %v", failures, got, want)
		}
	}
}

// TestTwoFactorGuardConcurrent: concurrent wrong codes on two instances get
// the free tries and one more at most; released attempts cost nothing.
func TestTwoFactorGuardConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		ctx := context.Background()
		var guards [2]*TwoFactorGuard
		for i := range c {
			li := New(c[i])
			li.now = clk.Now
			guards[i] = NewTwoFactorGuard(li)
		}
		user, pending := rand.Int64(), randomName()
		for range 20 {
			a, err := guards[0].Reserve(ctx, user, pending)
			if err != nil {
				t.Fatal(err)
			}
			a.Release(ctx)
		}
		var checks atomic.Int64
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				a, err := guards[i%2].Reserve(ctx, user, pending)
				if err != nil {
					if e, ok := gatehouse.AsError(err); !ok || e.Code != "2fa_too_many_attempts" {
						t.Errorf("refusal %v", err)
					}
					return
				}
				checks.Add(1)
				a.Failed(ctx)
			})
		}
		wg.Wait()
		if n := checks.Load(); n > TwoFactorFreeFailures+1 || n < TwoFactorFreeFailures {
			t.Fatalf("%d codes checked, want %d or %d", n, TwoFactorFreeFailures, TwoFactorFreeFailures+1)
		}
	})
}

// TestTwoFactorGuardPendingLimit: the pending login's 10th wrong code ends
// it, and no 11th is reserved.
func TestTwoFactorGuardPendingLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, clk *clock, c [2]Counters, l *Limiter) {
		ctx := context.Background()
		g := NewTwoFactorGuard(l)
		pending := randomName()
		for i := 1; i <= gatehouse.PendingLoginCodeLimit; i++ {
			// A different user each time keeps the delay out of the way.
			a, err := g.Reserve(ctx, rand.Int64(), pending)
			if err != nil {
				t.Fatalf("try %d: %v", i, err)
			}
			f, _ := a.Failed(ctx)
			if f.EndPending != (i == gatehouse.PendingLoginCodeLimit) {
				t.Fatalf("try %d: EndPending %v", i, f.EndPending)
			}
		}
		if _, err := g.Reserve(ctx, rand.Int64(), pending); err == nil {
			t.Fatal("an 11th code was reserved")
		}
	})
}
