package gatehouse

import (
	"context"
	"sync"
	"time"
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

// SharedGenerationReads wraps src so that concurrent requests share
// generation reads without ever seeing one older than their arrival: a
// caller that finds no read in flight reads the database itself; one that
// finds a read in flight (it began before the caller arrived, so it may
// predate a change the caller must see) waits for the next read, which
// starts when that one ends and serves everyone who arrived meanwhile.
// Under load this turns one database read per request into one per batch,
// and each caller still sees every change committed before it asked.
func SharedGenerationReads(src GenerationSource) GenerationSource {
	if src == nil {
		return nil
	}
	if _, ok := src.(*sharedGenerationReads); ok {
		return src
	}
	known, _ := src.(knownGeneration)
	return &sharedGenerationReads{src: src, known: known}
}

// knownGeneration is a GenerationSource that can often answer without
// I/O, and says when it cannot: *store.Store on PostgreSQL while its
// listener holds a lease. Such answers need no sharing.
type knownGeneration interface {
	KnownAuthGeneration() (int64, bool)
}

// sharedReadTimeout bounds a read made on behalf of waiting requests, so a
// stuck database cannot leave a read "in flight" for ever.
const sharedReadTimeout = 10 * time.Second

type sharedGenerationReads struct {
	src     GenerationSource
	known   knownGeneration // src, when it can answer from memory
	mu      sync.Mutex
	running bool            // a read is in flight
	next    *generationRead // starts when the running read ends
}

type generationRead struct {
	done chan struct{}
	gen  int64
	err  error
}

func (g *sharedGenerationReads) AuthGeneration(ctx context.Context) (int64, error) {
	if g.known != nil {
		if gen, ok := g.known.KnownAuthGeneration(); ok {
			return gen, nil
		}
	}
	g.mu.Lock()
	if !g.running {
		g.running = true
		g.mu.Unlock()
		gen, err := g.src.AuthGeneration(context.WithoutCancel(ctx))
		g.finished()
		return gen, err
	}
	r := g.next
	if r == nil {
		r = &generationRead{done: make(chan struct{})}
		g.next = r
	}
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.gen, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// finished ends the running read and starts the waiting one, if any.
func (g *sharedGenerationReads) finished() {
	g.mu.Lock()
	r := g.next
	g.next = nil
	g.running = r != nil
	g.mu.Unlock()
	if r != nil {
		go g.readFor(r)
	}
}

func (g *sharedGenerationReads) readFor(r *generationRead) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedReadTimeout)
	r.gen, r.err = g.src.AuthGeneration(ctx)
	cancel()
	close(r.done)
	g.finished()
}

// GenerationCache is genCache for the layers above the services: values
// derived from what the services return (an encoded answer, say) under
// the auth generation in ctx. The zero value is ready to use.
type GenerationCache[K comparable, V any] struct{ c genCache[K, V] }

// Get returns the value stored for k under the generation in ctx.
func (c *GenerationCache[K, V]) Get(ctx context.Context, k K) (V, bool) { return c.c.get(ctx, k) }

// Put stores v for k under the generation in ctx; without one it does
// nothing.
func (c *GenerationCache[K, V]) Put(ctx context.Context, k K, v V) { c.c.put(ctx, k, v) }
