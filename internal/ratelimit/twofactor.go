package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Limits on wrong second-step codes.
const (
	// TwoFactorFreeFailures is how many wrong codes a user may make before
	// the delay starts; the owner is emailed when it is reached.
	TwoFactorFreeFailures = 5
	// TwoFactorFailureMemory is how long a user's wrong codes are
	// remembered after the last one.
	TwoFactorFailureMemory = 24 * time.Hour
	// TwoFactorMaxDelay caps the delay between codes.
	TwoFactorMaxDelay = time.Hour
	// TwoFactorNoticeEvery is how many further wrong codes, after the
	// first notice, bring another one.
	TwoFactorNoticeEvery = 20
)

// TwoFactorDelay is the wait before the next code after failures wrong
// codes: none up to TwoFactorFreeFailures, then one second doubling with
// each further wrong code, up to TwoFactorMaxDelay.
func TwoFactorDelay(failures int64) time.Duration {
	if failures < TwoFactorFreeFailures {
		return 0
	}
	n := failures - TwoFactorFreeFailures
	if n >= 12 { // 2^12 s is past the cap
		return TwoFactorMaxDelay
	}
	return min(time.Duration(1<<n)*time.Second, TwoFactorMaxDelay)
}

// TwoFactorGuard limits wrong codes at the second login step: at most
// gatehouse.PendingLoginCodeLimit per pending login, and per user a growing
// delay (TwoFactorDelay) during which one code at most is checked. Checks
// are reserved before they run, so concurrent guesses are counted too. It
// implements gatehouse.SecondStepGuard.
type TwoFactorGuard struct {
	l *Limiter
}

// NewTwoFactorGuard counts wrong codes in l's counters.
func NewTwoFactorGuard(l *Limiter) *TwoFactorGuard {
	return &TwoFactorGuard{l: l}
}

func errCodeDelay(retry time.Duration) *gatehouse.Error {
	secs := int(roundUp(retry) / time.Second)
	return &gatehouse.Error{Kind: gatehouse.KindInvalid, Code: "2fa_too_many_attempts",
		Detail: fmt.Sprintf("Too many attempts. Please try again in %d seconds.", secs), RetryAfter: secs}
}

// Reserve claims one code check; see gatehouse.SecondStepGuard.
func (g *TwoFactorGuard) Reserve(ctx context.Context, userID int64, pendingKeyHash string) (gatehouse.CodeAttempt, error) {
	user := strconv.FormatInt(userID, 10)
	a := &codeAttempt{g: g, pendingKey: Key("2fa-pending-codes", pendingKeyHash), userKey: Key("2fa-failures", user),
		delayKey: Key("2fa-delay", user)}
	var err error
	if a.pending, _, err = g.l.c.Incr(ctx, a.pendingKey, gatehouse.TwoFactorLoginTTL, false); err != nil {
		return nil, fmt.Errorf("second step: %w", err)
	}
	if a.pending > gatehouse.PendingLoginCodeLimit {
		return nil, gatehouse.ErrPendingCodesUsed()
	}
	if a.failures, _, err = g.l.c.Incr(ctx, a.userKey, TwoFactorFailureMemory, true); err != nil {
		g.l.c.Decr(ctx, a.pendingKey)
		return nil, fmt.Errorf("second step: %w", err)
	}
	// failures counts this attempt: failures-1 came before it.
	if delay := TwoFactorDelay(a.failures - 1); delay > 0 {
		ok, retry, err := g.l.Allow(ctx, a.delayKey, Rate{Limit: 1, Period: delay})
		if err != nil || !ok {
			a.Release(ctx)
			if err != nil {
				return nil, fmt.Errorf("second step: %w", err)
			}
			return nil, errCodeDelay(retry)
		}
	}
	return a, nil
}

// codeAttempt is a reserved code check: its place among the pending
// login's tries and the user's wrong codes.
type codeAttempt struct {
	g                             *TwoFactorGuard
	pendingKey, userKey, delayKey string
	pending, failures             int64
}

// Failed keeps the attempt as a wrong code.
func (a *codeAttempt) Failed(ctx context.Context) (gatehouse.CodeFailures, error) {
	n := a.failures
	return gatehouse.CodeFailures{
		EndPending: a.pending >= gatehouse.PendingLoginCodeLimit,
		Count:      n,
		Notify:     n == TwoFactorFreeFailures || (n > TwoFactorFreeFailures && (n-TwoFactorFreeFailures)%TwoFactorNoticeEvery == 0),
	}, nil
}

// Succeeded clears the user's wrong codes and delay.
func (a *codeAttempt) Succeeded(ctx context.Context) error {
	if err := errors.Join(a.g.l.c.Delete(ctx, a.userKey), a.g.l.c.Delete(ctx, a.delayKey)); err != nil {
		return fmt.Errorf("second step: %w", err)
	}
	return nil
}

// Release gives the attempt back.
func (a *codeAttempt) Release(ctx context.Context) error {
	if err := errors.Join(a.g.l.c.Decr(ctx, a.pendingKey), a.g.l.c.Decr(ctx, a.userKey)); err != nil {
		return fmt.Errorf("second step: %w", err)
	}
	return nil
}

// Per-user limits of two-factor authentication
// (docs/posthog-compat.md#rate-limits-and-lockout).
var (
	// TwoFactorAttemptRate bounds second-step attempts per user.
	TwoFactorAttemptRate = Rate{Limit: 10, Period: time.Minute}
	// EmailMFASendRate bounds email-MFA links sent per user.
	EmailMFASendRate = Rate{Limit: 5, Period: time.Hour}
)

// TwoFactorLimit is gatehouse.TwoFactorService's Limit over l: kind
// "email-mfa" at EmailMFASendRate, every other kind at
// TwoFactorAttemptRate, per user.
func TwoFactorLimit(l *Limiter) func(ctx context.Context, kind string, userID int64) error {
	return func(ctx context.Context, kind string, userID int64) error {
		rate := TwoFactorAttemptRate
		if kind == "email-mfa" {
			rate = EmailMFASendRate
		}
		ok, retry, err := l.Allow(ctx, Key(kind, strconv.FormatInt(userID, 10)), rate)
		if err != nil {
			return err
		}
		if !ok {
			return gatehouse.ThrottledError(retry)
		}
		return nil
	}
}

// ResetThrottle is gatehouse.ResetService's Throttle over l:
// gatehouse.ResetRequestLimit requests per gatehouse.ResetRequestPeriod per
// email.
func ResetThrottle(l *Limiter) func(ctx context.Context, email string) (bool, time.Duration, error) {
	rate := Rate{Limit: gatehouse.ResetRequestLimit, Period: gatehouse.ResetRequestPeriod}
	return func(ctx context.Context, email string) (bool, time.Duration, error) {
		return l.Allow(ctx, Key("reset-request", email), rate)
	}
}
