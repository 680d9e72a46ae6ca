package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestConcurrentOwnerDemotionsKeepAnOwner: two owners demoting each
// other at the same moment cannot both succeed; the organization always
// keeps an owner.
func TestConcurrentOwnerDemotionsKeepAnOwner(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, a := newOwner(t, s, "a@example.com")
		_, _, b := newOwner(t, s, "b@example.com")
		if err := s.AddMembership(ctx, b.ID, org.ID, gatehouse.LevelOwner); err != nil {
			t.Fatal(err)
		}
		for round := 0; round < 20; round++ {
			for _, u := range []*gatehouse.User{a, b} {
				if err := s.SetMembershipLevel(ctx, org.ID, u.ID, gatehouse.LevelOwner, time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			start := make(chan struct{})
			for i, u := range []*gatehouse.User{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = s.SetMembershipLevel(ctx, org.ID, u.ID, gatehouse.LevelAdmin, time.Now())
				}()
			}
			close(start)
			wg.Wait()
			refused := 0
			for _, err := range errs {
				switch {
				case errors.Is(err, gatehouse.ErrLastOwner):
					refused++
				case err != nil:
					t.Fatal(err)
				}
			}
			owners := 0
			list, _, err := s.OrganizationMembers(ctx, org.ID, 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range list {
				if m.Level == gatehouse.LevelOwner {
					owners++
				}
			}
			if refused != 1 || owners != 1 {
				t.Fatalf("round %d: %d refused, %d owners left", round, refused, owners)
			}
		}
	})
}
