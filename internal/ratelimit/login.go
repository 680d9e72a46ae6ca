package ratelimit

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

// PerAddressFailureLimit is how many failed logins from one address, across
// all emails, lock that address out.
const PerAddressFailureLimit = 30

// LoginLockout is the login lockout (PostHog's django-axes): failures are
// counted per (email, client address) and per client address; either
// reaching its limit locks further attempts for the cool-off after the last
// failure. It implements gatehouse.LoginGuard.
type LoginLockout struct {
	perEmail   *Lockout
	perAddress *Lockout
	cooloff    time.Duration
}

// NewLoginLockout locks an (email, address) after limit failures and an
// address after PerAddressFailureLimit, each for cooloff after the last
// failure (AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME).
func NewLoginLockout(l *Limiter, limit int64, cooloff time.Duration) *LoginLockout {
	return &LoginLockout{perEmail: l.Lockout(limit, cooloff), perAddress: l.Lockout(max(PerAddressFailureLimit, limit), cooloff), cooloff: cooloff}
}

func (g *LoginLockout) keys(email, clientIP string) (emailKey, addressKey string) {
	if clientIP == "" {
		clientIP = "unknown"
	}
	return Key("login-email", strings.ToLower(strings.TrimSpace(email)), clientIP), Key("login-address", clientIP)
}

// LockedError is the answer to a locked-out login.
func (g *LoginLockout) LockedError() *gatehouse.Error {
	minutes := int((g.cooloff + time.Minute - 1) / time.Minute)
	return &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "too_many_failed_attempts",
		Detail: fmt.Sprintf("Too many failed login attempts. Please try again in %d minutes.", minutes)}
}

// Check refuses the attempt while either counter is locked.
func (g *LoginLockout) Check(ctx context.Context, email, clientIP string) error {
	ek, ak := g.keys(email, clientIP)
	for _, c := range []struct {
		lo  *Lockout
		key string
	}{{g.perEmail, ek}, {g.perAddress, ak}} {
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

// Failed counts a failed attempt; the attempt that reaches a limit is
// already answered with the lockout.
func (g *LoginLockout) Failed(ctx context.Context, email, clientIP string) error {
	ek, ak := g.keys(email, clientIP)
	lockedE, err := g.perEmail.Fail(ctx, ek)
	if err != nil {
		return fmt.Errorf("lockout: %w", err)
	}
	lockedA, err := g.perAddress.Fail(ctx, ak)
	if err != nil {
		return fmt.Errorf("lockout: %w", err)
	}
	if lockedE {
		metrics.Lockout("email")
	}
	if lockedA {
		metrics.Lockout("address")
	}
	if lockedE || lockedA {
		return g.LockedError()
	}
	return nil
}

// Succeeded clears the (email, address) counter. The per-address counter
// is kept: one valid account must not reset an attacker's address.
func (g *LoginLockout) Succeeded(ctx context.Context, email, clientIP string) error {
	ek, _ := g.keys(email, clientIP)
	return g.perEmail.Reset(ctx, ek)
}
