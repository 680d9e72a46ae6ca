package gatehouse

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// memEventStore is an EventStore whose projects a test changes, moving a
// countingSource's generation as the database's trigger would.
type memEventStore struct {
	mu       sync.Mutex
	projects map[string]Project
	lookups  int
	stored   []Event
}

func (m *memEventStore) ProjectByAPIToken(ctx context.Context, token string) (*Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	p, ok := m.projects[token]
	if !ok {
		return nil, ErrNotFound
	}
	return &p, nil
}

func (m *memEventStore) InsertEvents(ctx context.Context, events []Event) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stored = append(m.stored, events...)
	return len(events), nil
}

// Capture serves a token's project from memory while the generation
// stands still, and sees a changed or removed token on the very next
// request once it moves.
func TestCaptureProjectFollowsTheGeneration(t *testing.T) {
	ctx := context.Background()
	st := &memEventStore{projects: map[string]Project{"phc_a": {ID: 1, APIToken: "phc_a"}}}
	gen := &countingSource{}
	gen.gen.Store(1)
	c := &CaptureService{Store: st, Generation: gen}
	for range 3 {
		if err := c.Ingest(ctx, "phc_a", []Event{{Name: "e"}}); err != nil {
			t.Fatal(err)
		}
	}
	if st.lookups != 1 {
		t.Fatalf("project looked up %d times at one generation, want 1", st.lookups)
	}
	if st.stored[2].ProjectID != 1 {
		t.Fatalf("stored for project %d", st.stored[2].ProjectID)
	}

	// The token moves to another project (a rotation, say).
	st.mu.Lock()
	st.projects = map[string]Project{"phc_b": {ID: 1, APIToken: "phc_b"}}
	st.mu.Unlock()
	gen.gen.Store(2)
	err := c.Ingest(ctx, "phc_a", []Event{{Name: "late"}})
	if !errors.Is(err, ErrUnknownProjectToken) {
		t.Fatalf("old token after the change: %v, want ErrUnknownProjectToken", err)
	}
	if err := c.Ingest(ctx, "phc_b", []Event{{Name: "e"}}); err != nil {
		t.Fatal(err)
	}
	if len(st.stored) != 4 {
		t.Fatalf("stored %d events, want 4", len(st.stored))
	}
}
