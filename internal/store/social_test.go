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

var _ gatehouse.SSOStore = (*store.Store)(nil)

// ssoFixture is an instance with one organization (acme) owning the
// domain acme.example, and the SSO pipeline over it.
type ssoFixture struct {
	s      *store.Store
	sso    *gatehouse.SSOService
	org    *gatehouse.Organization
	domain *gatehouse.OrganizationDomain
	owner  *gatehouse.User
}

func newSSOFixture(t *testing.T, s *store.Store) *ssoFixture {
	t.Helper()
	org, _, owner := newOwner(t, s, "owner@acme.example")
	d := &gatehouse.OrganizationDomain{ID: gatehouse.NewUUID(), OrganizationID: org.ID, Domain: "acme.example", VerificationChallenge: "c", CreatedAt: time.Now()}
	if err := s.CreateDomain(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	domains := &gatehouse.DomainService{Store: s, ProviderConfigured: func(b string) bool { return b == "github" || b == "google-oauth2" }}
	invites := &gatehouse.InviteService{Store: s, Accounts: &gatehouse.AccountService{Store: s}}
	return &ssoFixture{s: s, org: org, domain: d, owner: owner,
		sso: &gatehouse.SSOService{Store: s, Domains: domains, Invites: invites}}
}

func (f *ssoFixture) setDomain(t *testing.T, verified, jit bool, enforce string) {
	t.Helper()
	f.domain.VerifiedAt = nil
	if verified {
		now := time.Now()
		f.domain.VerifiedAt = &now
	}
	f.domain.JITProvisioningEnabled, f.domain.SSOEnforcement = jit, enforce
	if err := f.s.UpdateDomain(context.Background(), f.domain); err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	e, ok := gatehouse.AsError(err)
	if !ok || e.Code != code {
		t.Fatalf("error %v, want code %s", err, code)
	}
}

func ghIdentity(uid, email string, verified bool) gatehouse.SSOIdentity {
	return gatehouse.SSOIdentity{Backend: "github", UID: uid, Email: email, EmailVerified: verified, FullName: "Grace Hopper"}
}

func TestSSOPipelineNewUsers(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newSSOFixture(t, s)
		id := ghIdentity("1001", "grace@acme.example", true)

		// No domain policy, and organizations cannot be created.
		_, err := f.sso.Complete(ctx, id, gatehouse.SSOLogin{})
		wantCode(t, err, "no_new_organizations")
		f.setDomain(t, true, false, "")
		_, err = f.sso.Complete(ctx, id, gatehouse.SSOLogin{})
		wantCode(t, err, "jit_not_enabled")
		// An unverified domain provisions nobody, even with JIT on.
		f.setDomain(t, false, true, "")
		_, err = f.sso.Complete(ctx, id, gatehouse.SSOLogin{})
		wantCode(t, err, "no_new_organizations")

		// An email the provider has not verified never creates an account.
		f.setDomain(t, true, true, "")
		_, err = f.sso.Complete(ctx, ghIdentity("1001", "grace@acme.example", false), gatehouse.SSOLogin{})
		wantCode(t, err, "email_not_verified")
		if _, err := s.UserByEmail(ctx, "grace@acme.example"); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("an unverified email made a user: %v", err)
		}

		res, err := f.sso.Complete(ctx, id, gatehouse.SSOLogin{})
		if err != nil || !res.Created || !res.Linked || res.User == nil {
			t.Fatalf("JIT: %+v %v", res, err)
		}
		u := res.User
		if u.PasswordHash != "" || u.IsEmailVerified == nil || !*u.IsEmailVerified || u.CurrentOrganizationID != f.org.ID || u.FirstName != "Grace" || u.LastName != "Hopper" {
			t.Fatalf("JIT user: %+v", u)
		}
		ms, _ := s.MembershipsOfUser(ctx, u.ID)
		if len(ms) != 1 || ms[0].OrganizationID != f.org.ID || ms[0].Level != gatehouse.LevelMember {
			t.Fatalf("JIT membership: %+v", ms)
		}
		// Back again: the link finds the user, even if the provider's email changed.
		again, err := f.sso.Complete(ctx, ghIdentity("1001", "other@elsewhere.example", false), gatehouse.SSOLogin{})
		if err != nil || again.User.ID != u.ID || again.Created || again.Linked {
			t.Fatalf("second login: %+v %v", again, err)
		}
		// No name at all: the IdP must send one.
		_, err = f.sso.Complete(ctx, gatehouse.SSOIdentity{Backend: "github", UID: "1002", Email: "nameless@acme.example", EmailVerified: true}, gatehouse.SSOLogin{})
		wantCode(t, err, "required")
	})
}

func TestSSOPipelineExistingUsers(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newSSOFixture(t, s)
		// The owner has a password and an unset verification state: the
		// first verified provider login claims the account.
		key, hash := gatehouse.NewSessionKey()
		_ = key
		now := time.Now().UTC()
		if err := s.CreateSession(ctx, hash, &gatehouse.Session{PublicID: gatehouse.NewUUID(), UserID: f.owner.ID, CreatedAt: now, LastActivityAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		_, err := f.sso.Complete(ctx, ghIdentity("2001", "OWNER@acme.example", false), gatehouse.SSOLogin{})
		wantCode(t, err, "email_not_verified")
		if u, _ := s.UserByID(ctx, f.owner.ID); u.PasswordHash == "" {
			t.Fatal("an unverified provider email claimed the account")
		}
		res, err := f.sso.Complete(ctx, ghIdentity("2001", "OWNER@acme.example", true), gatehouse.SSOLogin{})
		if err != nil || res.User.ID != f.owner.ID || res.Created || !res.Linked {
			t.Fatalf("link by email: %+v %v", res, err)
		}
		u, _ := s.UserByID(ctx, f.owner.ID)
		if u.PasswordHash != "" || u.IsEmailVerified == nil || !*u.IsEmailVerified {
			t.Fatalf("unverified password account not claimed: %+v", u)
		}
		if _, err := s.SessionByKeyHash(ctx, hash); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Fatalf("the pre-existing session survived the claim: %v", err)
		}

		// A verified account keeps its password.
		_, _, verified := newOwner(t, s, "kept@acme.example")
		if _, err := s.SetEmailVerified(ctx, verified.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sso.Complete(ctx, ghIdentity("2002", "kept@acme.example", true), gatehouse.SSOLogin{}); err != nil {
			t.Fatal(err)
		}
		if u, _ := s.UserByID(ctx, verified.ID); u.PasswordHash == "" {
			t.Fatal("a verified account lost its password")
		}
	})
}

func TestSSOPipelineEnforcement(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newSSOFixture(t, s)
		if _, err := f.sso.Complete(ctx, ghIdentity("3001", "owner@acme.example", true), gatehouse.SSOLogin{}); err != nil {
			t.Fatal(err)
		}
		f.setDomain(t, true, true, "google-oauth2")
		// Neither a new identity nor an existing link gets past enforcement.
		for _, id := range []gatehouse.SSOIdentity{ghIdentity("3001", "owner@acme.example", true), ghIdentity("3002", "new@acme.example", true)} {
			_, err := f.sso.Complete(ctx, id, gatehouse.SSOLogin{})
			wantCode(t, err, "google_sso_enforced")
		}
		google := gatehouse.SSOIdentity{Backend: "google-oauth2", UID: "g-1", Email: "owner@acme.example", EmailVerified: true, FirstName: "O"}
		if _, err := f.sso.Complete(ctx, google, gatehouse.SSOLogin{}); err != nil {
			t.Fatalf("the enforced provider: %v", err)
		}
		f.setDomain(t, true, true, "github")
		_, err := f.sso.Complete(ctx, google, gatehouse.SSOLogin{})
		wantCode(t, err, "github_sso_enforced")
		// Enforcement of a provider this instance lacks is ignored.
		f.setDomain(t, true, true, "gitlab")
		if _, err := f.sso.Complete(ctx, google, gatehouse.SSOLogin{}); err != nil {
			t.Fatalf("unconfigured enforcement: %v", err)
		}
	})
}

func TestSSOPipelineInvites(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newSSOFixture(t, s)
		now := time.Now().UTC()
		inv := &gatehouse.Invite{ID: gatehouse.NewInviteID(), OrganizationID: f.org.ID, TargetEmail: "ivy@outside.example", Level: gatehouse.LevelMember,
			CreatedByUserID: f.owner.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
		// An invite is not a key for another address.
		_, err := f.sso.Complete(ctx, ghIdentity("4001", "mallory@outside.example", true), gatehouse.SSOLogin{InviteID: inv.ID})
		wantCode(t, err, "invalid_recipient")
		res, err := f.sso.Complete(ctx, ghIdentity("4002", "ivy@outside.example", true), gatehouse.SSOLogin{InviteID: inv.ID})
		if err != nil || !res.Created || res.User.CurrentOrganizationID != f.org.ID {
			t.Fatalf("invite signup: %+v %v", res, err)
		}
		// Used once.
		_, err = f.sso.Complete(ctx, gatehouse.SSOIdentity{Backend: "github", UID: "4003", Email: "ivy2@outside.example", EmailVerified: true, FirstName: "I"}, gatehouse.SSOLogin{InviteID: inv.ID})
		wantCode(t, err, "invalid_input")
	})
}

func TestSSOPipelineOrganizationCreation(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newSSOFixture(t, s)
		f.sso.MultiOrgEnabled = true
		id := ghIdentity("5001", "founder@startup.example", true)
		res, err := f.sso.Complete(ctx, id, gatehouse.SSOLogin{})
		if err != nil || !res.ConfirmOrganization || res.User != nil {
			t.Fatalf("confirm step: %+v %v", res, err)
		}
		created, err := f.sso.CreateWithOrganization(ctx, id, gatehouse.SocialSignup{OrganizationName: "Startup"})
		if err != nil || !created.Created || created.User.CurrentOrganizationID == "" || created.User.CurrentOrganizationID == f.org.ID {
			t.Fatalf("social signup: %+v %v", created, err)
		}
		back, err := f.sso.Complete(ctx, id, gatehouse.SSOLogin{})
		if err != nil || back.User.ID != created.User.ID {
			t.Fatalf("after signup: %+v %v", back, err)
		}
		_, err = f.sso.CreateWithOrganization(ctx, ghIdentity("5002", "x@y.example", false), gatehouse.SocialSignup{})
		wantCode(t, err, "email_not_verified")
		f.sso.MultiOrgEnabled = false
		_, err = f.sso.CreateWithOrganization(ctx, ghIdentity("5003", "late@y.example", true), gatehouse.SocialSignup{})
		wantCode(t, err, "permission_denied")
	})
}

func TestSSOLinkingAndUnlinking(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		f := newSSOFixture(t, s)
		owner := f.owner
		_, err := f.sso.Complete(ctx, ghIdentity("6001", "someone@else.example", true), gatehouse.SSOLogin{LinkTo: owner})
		wantCode(t, err, "email_mismatch")
		_, err = f.sso.Complete(ctx, ghIdentity("6001", "owner@acme.example", false), gatehouse.SSOLogin{LinkTo: owner})
		wantCode(t, err, "email_not_verified")
		res, err := f.sso.Complete(ctx, ghIdentity("6001", "Owner@Acme.example", true), gatehouse.SSOLogin{LinkTo: owner})
		if err != nil || !res.Linked || res.User.ID != owner.ID {
			t.Fatalf("link: %+v %v", res, err)
		}
		// The same identity cannot be linked to another user.
		_, _, other := newOwner(t, s, "owner@acme2.example")
		_, err = f.sso.Complete(ctx, ghIdentity("6001", "owner@acme2.example", true), gatehouse.SSOLogin{LinkTo: other})
		wantCode(t, err, "social_account_in_use")

		// With a password the only link can go; without one it cannot.
		if _, err := f.sso.Unlink(ctx, owner, "github", ""); err != nil {
			t.Fatalf("unlink with a password: %v", err)
		}
		if err := s.SetPasswordHash(ctx, owner.ID, ""); err != nil {
			t.Fatal(err)
		}
		owner.PasswordHash = ""
		for _, uid := range []string{"6001", "6002"} {
			if _, err := f.sso.Complete(ctx, ghIdentity(uid, "owner@acme.example", true), gatehouse.SSOLogin{LinkTo: owner}); err != nil {
				t.Fatal(err)
			}
		}
		links, _ := f.sso.Links(ctx, owner)
		if len(links) != 2 {
			t.Fatalf("links: %+v", links)
		}
		_, err = f.sso.Unlink(ctx, owner, "github", "")
		wantCode(t, err, "ambiguous")
		// Two concurrent unlinks of the last two links: one wins.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range links {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.sso.Unlink(ctx, owner, "", links[i].ID)
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Fatalf("concurrent unlinks: %v / %v", errs[0], errs[1])
		}
		left, _ := f.sso.Links(ctx, owner)
		if len(left) != 1 {
			t.Fatalf("left: %+v", left)
		}
		_, err = f.sso.Unlink(ctx, owner, "github", "")
		wantCode(t, err, "last_login_method")
		// A passkey is a way to sign in.
		f.sso.HasPasskeys = func(context.Context, int64) (bool, error) { return true, nil }
		if _, err := f.sso.Unlink(ctx, owner, "github", ""); err != nil {
			t.Fatalf("unlink with a passkey: %v", err)
		}
		_, err = f.sso.Unlink(ctx, owner, "gitlab", "")
		wantCode(t, err, "not_found")
		// Another user's link is not found.
		_, err = f.sso.Unlink(ctx, other, "", left[0].ID)
		wantCode(t, err, "not_found")
	})
}
