package ratelimit

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// DefaultMemoryKeys is how many counters a Memory keeps at most.
const DefaultMemoryKeys = 100_000

// Memory keeps counters in process memory: for a single instance only, and
// lost on restart. It holds at most MaxKeys counters, so an attacker cycling
// through keys cannot grow it without limit: when full it drops expired
// counters first and then the oldest. It is safe for concurrent use.
type Memory struct {
	// MaxKeys bounds the counters kept; 0 means DefaultMemoryKeys. Set it
	// before first use.
	MaxKeys int

	mu    sync.Mutex
	m     map[string]*list.Element // of *memEntry
	order *list.List               // of *memEntry, oldest first
	now   func() time.Time
}

type memEntry struct {
	key     string
	count   int64
	expires time.Time
}

// NewMemory returns an empty in-memory counter store.
func NewMemory() *Memory {
	return &Memory{m: make(map[string]*list.Element), order: list.New(), now: time.Now}
}

// Incr adds 1 to key's counter; see Counters.
func (m *Memory) Incr(ctx context.Context, key string, ttl time.Duration, slide bool) (int64, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	ttl = max(ttl, time.Millisecond)
	if el, ok := m.m[key]; ok {
		e := el.Value.(*memEntry)
		if now.Before(e.expires) {
			e.count++
			if slide {
				e.expires = now.Add(ttl)
			}
			return e.count, e.expires, nil
		}
		// Expired: start over as a new counter.
		m.order.Remove(el)
		delete(m.m, key)
	}
	m.makeRoom(now)
	e := &memEntry{key: key, count: 1, expires: now.Add(ttl)}
	m.m[key] = m.order.PushBack(e)
	return e.count, e.expires, nil
}

// makeRoom frees space for one more counter when the map is full: it drops
// every expired counter and, if that frees less than a sixteenth of the
// space, the oldest counters down to fifteen sixteenths. Freeing in bulk keeps
// the cost per new counter constant on average.
func (m *Memory) makeRoom(now time.Time) {
	limit := m.MaxKeys
	if limit <= 0 {
		limit = DefaultMemoryKeys
	}
	if len(m.m) < limit {
		return
	}
	for el := m.order.Front(); el != nil; {
		next := el.Next()
		if e := el.Value.(*memEntry); !now.Before(e.expires) {
			m.order.Remove(el)
			delete(m.m, e.key)
		}
		el = next
	}
	target := limit - max(limit/16, 1)
	for len(m.m) > target {
		el := m.order.Front()
		m.order.Remove(el)
		delete(m.m, el.Value.(*memEntry).key)
	}
}

// Get returns key's count and expiry; see Counters.
func (m *Memory) Get(ctx context.Context, key string) (int64, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return 0, time.Time{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	el, ok := m.m[key]
	if !ok {
		return 0, time.Time{}, nil
	}
	e := el.Value.(*memEntry)
	if !m.now().Before(e.expires) {
		m.order.Remove(el)
		delete(m.m, key)
		return 0, time.Time{}, nil
	}
	return e.count, e.expires, nil
}

// Delete removes key's counter; see Counters.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.m[key]; ok {
		m.order.Remove(el)
		delete(m.m, key)
	}
	return nil
}

// Decr takes 1 back from key's counter; see Counters.
func (m *Memory) Decr(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if el, ok := m.m[key]; ok {
		if e := el.Value.(*memEntry); m.now().Before(e.expires) && e.count > 0 {
			e.count--
		}
	}
	return nil
}

// Len returns how many counters m holds, expired ones included until they
// are dropped.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}
