package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestOrganizationDomains(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOwner(t, s, "dom@example.com")
		other, _, _ := newOwner(t, s, "dom2@example.com")
		now := time.Now().UTC().Truncate(time.Millisecond)
		d := &gatehouse.OrganizationDomain{ID: gatehouse.NewUUID(), OrganizationID: org.ID, Domain: "acme.example", VerificationChallenge: "challenge", CreatedAt: now}
		if err := s.CreateDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
		// A domain belongs to one organization, whatever its case.
		dup := &gatehouse.OrganizationDomain{ID: gatehouse.NewUUID(), OrganizationID: other.ID, Domain: "ACME.example", VerificationChallenge: "x", CreatedAt: now}
		if err := s.CreateDomain(ctx, dup); !errors.Is(err, gatehouse.ErrConflict) {
			t.Fatalf("duplicate domain: %v, want ErrConflict", err)
		}
		got, err := s.DomainByName(ctx, "Acme.Example")
		if err != nil || got.ID != d.ID || got.IsVerified() || got.VerificationChallenge != "challenge" || !got.CreatedAt.Equal(now) {
			t.Fatalf("by name: %+v %v", got, err)
		}
		got.VerifiedAt = &now
		got.JITProvisioningEnabled, got.SSOEnforcement = true, "saml"
		got.SAMLEntityID, got.SAMLACSURL, got.SAMLX509Cert = "https://idp.example/entity", "https://idp.example/sso", "MIIB..."
		if err := s.UpdateDomain(ctx, got); err != nil {
			t.Fatal(err)
		}
		again, err := s.DomainByID(ctx, d.ID)
		if err != nil || !again.IsVerified() || !again.VerifiedAt.Equal(now) || again.LastVerificationRetry != nil || !again.JITProvisioningEnabled ||
			again.SSOEnforcement != "saml" || !again.HasSAML() {
			t.Fatalf("after update: %+v %v", again, err)
		}
		list, err := s.DomainsOfOrganization(ctx, org.ID)
		if err != nil || len(list) != 1 || list[0].ID != d.ID {
			t.Fatalf("list: %+v %v", list, err)
		}
		if ok, err := s.DeleteDomain(ctx, other.ID, d.ID); ok || err != nil {
			t.Fatalf("another organization deleted the domain: %v %v", ok, err)
		}
		if ok, err := s.DeleteDomain(ctx, org.ID, d.ID); !ok || err != nil {
			t.Fatalf("delete: %v %v", ok, err)
		}
		if _, err := s.DomainByID(ctx, d.ID); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})
}
