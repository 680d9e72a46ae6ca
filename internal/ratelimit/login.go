package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

// PerAddressFailureLimit is how many failed logins from one address, across
// all emails, lock that address out.
const PerAddressFailureLimit = 30

// PerAccountFailureLimit is how many failed logins for one email, from all
// addresses together, lock that email's password sign-in: no rotation of
// addresses gets more guesses than this per cool-off. The lock ends a
// cool-off after the last failure, or when the owner completes a password
// reset.
const PerAccountFailureLimit = 20

// LoginLockout is the login lockout (PostHog's django-axes): failures are
// counted per (email, client address), per client address and per email;
// any of them reaching its limit locks further attempts for the cool-off
// after the last failure. Client addresses are grouped by AddressKey (IPv6
// by /64). Password checks are reserved before they run (Reserve), so at
// most the limit of checks ever run per window, whatever the concurrency
// and on every instance sharing the counters. It implements
// gatehouse.LoginGuard.
type LoginLockout struct {
	perEmail   *Lockout
	perAddress *Lockout
	perAccount *Lockout
	cooloff    time.Duration
}

// NewLoginLockout locks an (email, address) after limit failures, an
// address after PerAddressFailureLimit and an email after
// PerAccountFailureLimit, each for cooloff after the last failure
// (AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME).
func NewLoginLockout(l *Limiter, limit int64, cooloff time.Duration) *LoginLockout {
	return &LoginLockout{perEmail: l.Lockout(limit, cooloff), perAddress: l.Lockout(max(PerAddressFailureLimit, limit), cooloff),
		perAccount: l.Lockout(max(PerAccountFailureLimit, limit), cooloff), cooloff: cooloff}
}

// lockCounter is one of the counters a login attempt counts on.
type lockCounter struct {
	lo    *Lockout
	key   string
	scope string // metrics label
}

// counters lists the counters of an attempt for email from clientIP: the
// (email, address) one first. An empty email (a passkey of unknown user)
// has no account counter.
func (g *LoginLockout) counters(email, clientIP string) []lockCounter {
	email = strings.ToLower(strings.TrimSpace(email))
	address := AddressKey(clientIP)
	cs := []lockCounter{
		{g.perEmail, Key("login-email", email, address), "email"},
		{g.perAddress, Key("login-address", address), "address"},
	}
	if email != "" {
		cs = append(cs, lockCounter{g.perAccount, Key("login-account", email), "account"})
	}
	return cs
}

// LockedError is the answer to a locked-out login.
func (g *LoginLockout) LockedError() *gatehouse.Error {
	minutes := int((g.cooloff + time.Minute - 1) / time.Minute)
	return &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "too_many_failed_attempts",
		Detail: fmt.Sprintf("Too many failed login attempts. Please try again in %d minutes.", minutes)}
}

// errCheckInFlight answers an attempt refused because the last checks the
// lockout allows are running: retrying in a moment gets either a check or
// the lockout.
func errCheckInFlight() *gatehouse.Error {
	return &gatehouse.Error{Kind: gatehouse.KindUnavailable, Code: "server_busy",
		Detail: "Another sign-in for this account is being checked. Please try again in a moment.", RetryAfter: 1}
}

// Check refuses a sign-in that cannot be guessed (a passkey) while the
// (email, address) or the address counter is locked. The account-wide
// ceiling is left out: it stops password guessing from many addresses, and
// holding passkeys to it would let anyone lock an owner out of the one
// sign-in that guessing cannot reach.
func (g *LoginLockout) Check(ctx context.Context, email, clientIP string) error {
	return g.check(ctx, g.counters(email, clientIP)[:2])
}

// check refuses while any of cs is locked.
func (g *LoginLockout) check(ctx context.Context, cs []lockCounter) error {
	for _, c := range cs {
		locked, _, err := c.lo.Locked(ctx, c.key)
		if err != nil {
			return fmt.Errorf("lockout: %w", err)
		}
		if locked {
			return g.LockedError()
		}
	}
	return nil
}

// Reserve claims one password check. A locked counter refuses it without
// a write (so refused attempts never extend a lock). Otherwise every
// counter is incremented at once, atomically in the store; if any passes
// its limit the check would exceed it, because other checks took the last
// places meanwhile: everything is given back and the attempt is refused as
// busy.
func (g *LoginLockout) Reserve(ctx context.Context, email, clientIP string) (gatehouse.LoginAttempt, error) {
	cs := g.counters(email, clientIP)
	if err := g.check(ctx, cs); err != nil {
		return nil, err
	}
	a := &loginAttempt{g: g, counters: cs, counts: make([]int64, 0, len(cs))}
	for _, c := range cs {
		n, err := c.lo.Reserve(ctx, c.key)
		if err != nil {
			a.release(ctx, len(a.counts))
			return nil, fmt.Errorf("lockout: %w", err)
		}
		a.counts = append(a.counts, n)
		if n > c.lo.Limit {
			a.release(ctx, len(a.counts))
			return nil, errCheckInFlight()
		}
	}
	return a, nil
}

// Failed counts a failed attempt that was not reserved; the attempt that
// reaches a limit is already answered with the lockout.
func (g *LoginLockout) Failed(ctx context.Context, email, clientIP string) error {
	a := &loginAttempt{g: g, counters: g.counters(email, clientIP)}
	for _, c := range a.counters {
		n, err := c.lo.Reserve(ctx, c.key)
		if err != nil {
			return fmt.Errorf("lockout: %w", err)
		}
		a.counts = append(a.counts, n)
	}
	return a.Failed(ctx)
}

// Succeeded clears the (email, address) counter. The per-address and
// per-account counters are kept: one valid account must not reset an
// attacker's address, and the owner signing in must not erase an
// attacker's failures from other addresses.
func (g *LoginLockout) Succeeded(ctx context.Context, email, clientIP string) error {
	c := g.counters(email, clientIP)[0]
	return c.lo.Reset(ctx, c.key)
}

// Unlock lifts the account-wide lock of email (after its owner completed a
// password reset). Locks of an (email, address) run their cool-off.
func (g *LoginLockout) Unlock(ctx context.Context, email string) error {
	email = strings.ToLower(strings.TrimSpace(email))
	if email == "" {
		return nil
	}
	if err := g.perAccount.l.c.Delete(ctx, Key("login-account", email)); err != nil {
		return fmt.Errorf("lockout: %w", err)
	}
	return nil
}

// loginAttempt is a reserved password check: its place on each counter.
type loginAttempt struct {
	g        *LoginLockout
	counters []lockCounter
	counts   []int64
}

// release gives back the first n reservations.
func (a *loginAttempt) release(ctx context.Context, n int) error {
	var errs []error
	for _, c := range a.counters[:n] {
		errs = append(errs, c.lo.Release(ctx, c.key))
	}
	return errors.Join(errs...)
}

// Failed keeps the reservations as failures and answers with the lockout
// when this failure reached a limit.
func (a *loginAttempt) Failed(ctx context.Context) error {
	locked := false
	for i, c := range a.counters {
		if a.counts[i] >= c.lo.Limit {
			locked = true
			if a.counts[i] == c.lo.Limit {
				metrics.Lockout(c.scope)
			}
		}
	}
	if locked {
		return a.g.LockedError()
	}
	return nil
}

// Succeeded clears the (email, address) failures and gives back the other
// reservations.
func (a *loginAttempt) Succeeded(ctx context.Context) error {
	err := a.counters[0].lo.Reset(ctx, a.counters[0].key)
	for _, c := range a.counters[1:] {
		err = errors.Join(err, c.lo.Release(ctx, c.key))
	}
	if err != nil {
		return fmt.Errorf("lockout: %w", err)
	}
	return nil
}

// Release gives every reservation back.
func (a *loginAttempt) Release(ctx context.Context) error {
	if err := a.release(ctx, len(a.counters)); err != nil {
		return fmt.Errorf("lockout: %w", err)
	}
	return nil
}
