package store_test

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestSAMLOptions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOwner(t, s, "saml@example.com")
		d := &gatehouse.OrganizationDomain{ID: gatehouse.NewUUID(), OrganizationID: org.ID, Domain: "saml.example", VerificationChallenge: "c", CreatedAt: time.Now()}
		if err := s.CreateDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
		o, err := s.SAMLOptions(ctx, d.ID)
		if err != nil || o.AllowIdPInitiated || o.AttributeMapping != nil {
			t.Fatalf("defaults: %+v %v", o, err)
		}
		want := &gatehouse.SAMLOptions{AllowIdPInitiated: true, AttributeMapping: map[string][]string{"uid": {"employeeNumber"}, "email": {"mail", "upn"}}}
		if err := s.UpdateSAMLOptions(ctx, d.ID, want); err != nil {
			t.Fatal(err)
		}
		if got, err := s.SAMLOptions(ctx, d.ID); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("after update: %+v %v", got, err)
		}
		if _, err := s.SAMLOptions(ctx, "no-such-domain"); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("unknown domain: %v", err)
		}
		if err := s.UpdateSAMLOptions(ctx, "no-such-domain", want); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("update unknown domain: %v", err)
		}
	})
}

// An assertion ID is accepted once per domain, even when copies arrive at
// the same moment; expired records make room again.
func TestSAMLAssertionIDsUsedOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		id := "_" + gatehouse.NewUUID()
		const copies = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := 0
		for range copies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.UseSAMLAssertionID(ctx, "domain-a", id, now.Add(time.Minute), now)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if fresh != 1 {
			t.Fatalf("%d of %d concurrent copies accepted, want 1", fresh, copies)
		}
		// The same ID from another domain's IdP is another assertion.
		if ok, err := s.UseSAMLAssertionID(ctx, "domain-b", id, now.Add(time.Minute), now); !ok || err != nil {
			t.Fatalf("other domain: %v %v", ok, err)
		}
		// Once the record expired it is gone (the assertion's own time
		// limits refuse it by then).
		later := now.Add(2 * time.Minute)
		if ok, err := s.UseSAMLAssertionID(ctx, "domain-a", id, later.Add(time.Minute), later); !ok || err != nil {
			t.Fatalf("after expiry: %v %v", ok, err)
		}
	})
}
