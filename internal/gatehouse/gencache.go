package gatehouse

import (
	"context"
	"sync"
)

// The auth generation is a counter the database bumps, by trigger, in the
// same transaction as any change to the rows that authenticate a key or
// shape what a key-authenticated hot path returns: users, organizations,
// memberships, projects, personal and project secret keys (not their
// last-use bookkeeping), TOTP devices and feature flags.
//
// A request that authenticates with a key reads the generation once
// (WithAuthGeneration); the services then serve what they loaded under
// that same generation from memory instead of the database. Any change
// moves the counter, so a revoked, rolled or narrowed key, a deactivated
// user or a removed membership is seen on the very next request, on every
// instance sharing the database. Requests without a generation (sessions,
// writes) always read the database.

// GenerationSource reads the current auth generation. *store.Store
// satisfies it.
type GenerationSource interface {
	AuthGeneration(ctx context.Context) (int64, error)
}

type generationKey struct{}

// WithAuthGeneration returns ctx carrying the current auth generation, so
// the services may answer from their caches. When it cannot be read, ctx
// is returned unchanged and everything is read from the database.
func WithAuthGeneration(ctx context.Context, src GenerationSource) context.Context {
	if src == nil {
		return ctx
	}
	gen, err := src.AuthGeneration(ctx)
	if err != nil {
		return ctx
	}
	return context.WithValue(ctx, generationKey{}, gen)
}

func authGeneration(ctx context.Context) (int64, bool) {
	gen, ok := ctx.Value(generationKey{}).(int64)
	return gen, ok
}

// maxCacheEntries bounds each cache; when full it starts over, which only
// costs database reads.
const maxCacheEntries = 10_000

// genCache holds values loaded under one auth generation. Entries of older
// generations are dropped as soon as a newer one is seen. The zero value
// is ready to use. Values are returned as stored: callers store copies
// they will not mutate, and copy what they hand out.
type genCache[K comparable, V any] struct {
	mu  sync.RWMutex
	gen int64
	m   map[K]V
}

// get returns the value loaded for k under the generation in ctx.
func (c *genCache[K, V]) get(ctx context.Context, k K) (v V, ok bool) {
	gen, has := authGeneration(ctx)
	if !has {
		return v, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen || c.m == nil {
		return v, false
	}
	v, ok = c.m[k]
	return v, ok
}

// put stores v for k, loaded under the generation in ctx (read before the
// load, so a change committed meanwhile has already moved the counter).
func (c *genCache[K, V]) put(ctx context.Context, k K, v V) {
	gen, has := authGeneration(ctx)
	if !has {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen < c.gen:
		return // an older request finishing late: its view is stale
	case gen > c.gen || c.m == nil || len(c.m) >= maxCacheEntries:
		c.gen, c.m = gen, map[K]V{}
	}
	c.m[k] = v
}
