package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestSAMLOptions(t *testing.T) {
	t.Parallel()
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
