package password

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// ErrBusy is the cause when every hashing slot stayed taken for the whole
// wait: the request is answered 503 with Retry-After instead of queueing
// without bound (each argon2id hash holds 19 MiB while it runs).
var ErrBusy = errors.New("password: hashing capacity exhausted")

// Hasher runs password hashing with bounded concurrency, about one hash
// per core, so a flood of logins costs bounded memory and CPU.
type Hasher struct {
	slots   chan struct{}
	maxWait time.Duration
	// cost is the work of new hashes and the floor under which a
	// verified hash asks to be redone (DefaultCost).
	cost Cost

	dummyOnce sync.Once
	dummy     gatehouse.Secret
}

// NewHasher allows concurrency hashes at once (0 means one per core) and
// lets a caller wait at most maxWait for a slot (0 means 2 seconds).
func NewHasher(concurrency int, maxWait time.Duration) *Hasher {
	if concurrency <= 0 {
		concurrency = runtime.NumCPU()
	}
	if maxWait <= 0 {
		maxWait = 2 * time.Second
	}
	return &Hasher{slots: make(chan struct{}, concurrency), maxWait: maxWait, cost: DefaultCost}
}

// WithCost makes h hash at cost c (TestCost in end-to-end tests) and
// returns h. Call it before the first use.
func (h *Hasher) WithCost(c Cost) *Hasher {
	h.cost = c
	return h
}

// HashNow hashes a new password without waiting for a slot (accounts
// created from the command line and at signup, as before).
func (h *Hasher) HashNow(pw gatehouse.Secret) gatehouse.Secret { return h.cost.Hash(pw) }

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(h.maxWait)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-timer.C:
		return busyError()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

func busyError() error {
	return &gatehouse.Error{Kind: gatehouse.KindUnavailable, Code: "server_busy",
		Detail: "Too many sign-ins at once. Please try again in a moment.", RetryAfter: 1, Err: ErrBusy}
}

// Hash hashes a new password.
func (h *Hasher) Hash(ctx context.Context, pw gatehouse.Secret) (gatehouse.Secret, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.cost.Hash(pw), nil
}

// Run runs fn, other CPU-heavy hashing such as a legacy API key's PBKDF2,
// in a hashing slot, waiting for one as Hash does: ErrBusy (503) when none
// frees up in time.
func (h *Hasher) Run(ctx context.Context, fn func()) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	fn()
	return nil
}

// Verify checks pw against a stored hash (see the package's Verify).
func (h *Hasher) Verify(ctx context.Context, pw, stored gatehouse.Secret) (ok, needsRehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	return h.cost.verify(pw, stored)
}

// VerifyNothing spends the time of a real verification and returns false.
// Logins for unknown emails call it, so their timing matches a wrong
// password and does not reveal which emails have accounts.
func (h *Hasher) VerifyNothing(ctx context.Context, pw gatehouse.Secret) error {
	h.dummyOnce.Do(func() { h.dummy = h.cost.Hash("gatehouse-timing-equaliser") })
	_, _, err := h.Verify(ctx, pw, h.dummy)
	return err
}
