package gatehouse

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/featureflag"
)

// memFlagStore serves one project's flags and counts the reads; a test
// changes them and moves a countingSource as the database's triggers do.
type memFlagStore struct {
	FlagStore // methods the tests do not call
	mu        sync.Mutex
	projects  map[string]Project
	flags     []FeatureFlag
	reads     int
}

func (m *memFlagStore) ProjectByAPIToken(ctx context.Context, token string) (*Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	p, ok := m.projects[token]
	if !ok {
		return nil, ErrNotFound
	}
	return &p, nil
}

func (m *memFlagStore) FeatureFlags(ctx context.Context, projectID int64) ([]FeatureFlag, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	return append([]FeatureFlag(nil), m.flags...), nil
}

func everyone(key string, active bool) FeatureFlag {
	pct := 100.0
	return FeatureFlag{ID: 1, ProjectID: 1, Key: key, Active: active,
		Filters: featureflag.Filters{Groups: []featureflag.Group{{RolloutPercentage: &pct}}}}
}

// /flags answers from memory while the generation stands still, and the
// very next evaluation after it moves sees a changed flag or token.
func TestEvaluateFollowsTheGeneration(t *testing.T) {
	ctx := context.Background()
	st := &memFlagStore{projects: map[string]Project{"phc_a": {ID: 1, APIToken: "phc_a"}}, flags: []FeatureFlag{everyone("beta", true)}}
	gen := &countingSource{}
	gen.gen.Store(1)
	s := &FlagService{Store: st, Generation: gen}
	for range 3 {
		got, err := s.Evaluate(ctx, FlagsRequest{Token: "phc_a", DistinctID: "u1"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Flag.Key != "beta" || !got[0].Result.Enabled {
			t.Fatalf("evaluations %+v", got)
		}
		// What a caller does with its answer does not reach the cache.
		got[0].Flag.Key = "mangled"
	}
	if st.reads != 2 {
		t.Fatalf("%d store reads for three evaluations at one generation, want 2 (project, flags)", st.reads)
	}

	st.mu.Lock()
	st.flags = []FeatureFlag{everyone("beta", false)}
	st.mu.Unlock()
	gen.gen.Store(2)
	got, err := s.Evaluate(ctx, FlagsRequest{Token: "phc_a", DistinctID: "u1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Fatalf("a flag switched off is still evaluated: %+v", got)
	}

	st.mu.Lock()
	st.projects = map[string]Project{"phc_b": {ID: 1, APIToken: "phc_b"}}
	st.mu.Unlock()
	gen.gen.Store(3)
	_, err = s.Evaluate(ctx, FlagsRequest{Token: "phc_a", DistinctID: "u1"})
	var de *Error
	if !errors.As(err, &de) || de.Code != "invalid_api_key" {
		t.Fatalf("old token after a rotation: %v", err)
	}
}
