package apitest

import (
	"context"
	"sync/atomic"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// counted returns server options whose password checks are counted in c.
func Counted(o Options, c *CountingPasswords) Options {
	o.Passwords = func(p gatehouse.PasswordChecker) gatehouse.PasswordChecker {
		c.PasswordChecker = p
		return c
	}
	return o
}

// tally counts each answer code.
func Tally(codes []string) map[string]int {
	m := map[string]int{}
	for _, c := range codes {
		m[c]++
	}
	return m
}

// CountingPasswords counts the password checks that really ran: every
// Verify that was not refused for lack of hashing capacity.
type CountingPasswords struct {
	gatehouse.PasswordChecker
	Checks atomic.Int64
}

func (c *CountingPasswords) Verify(ctx context.Context, pw, stored gatehouse.Secret) (bool, bool, error) {
	ok, rehash, err := c.PasswordChecker.Verify(ctx, pw, stored)
	if _, busy := gatehouse.AsError(err); !busy {
		c.Checks.Add(1)
	}
	return ok, rehash, err
}
