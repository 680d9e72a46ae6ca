package store_test

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// TestConformance runs the storage contract suite on every engine.
func TestConformance(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs every storage contract on both engines")
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			storetest.RunConformance(t, func(t *testing.T) *store.Store { return storetest.Open(t, engine) })
		})
	}
}
