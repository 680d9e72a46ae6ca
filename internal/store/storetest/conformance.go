package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// RunConformance checks the storage contracts the services rely on (the
// rules written on the store interfaces of package gatehouse and on the
// store's methods) against stores that open returns: each call must give
// a fresh, migrated, empty store. Every engine, present and future, must
// pass it, like Dex's storage/conformance.
func RunConformance(t *testing.T, open func(t *testing.T) *store.Store) {
	for _, c := range []struct {
		name string
		test func(t *testing.T, s *store.Store)
	}{
		{"ResetTokenUsedOnce", testResetTokenUsedOnce},
		{"InviteUsedOnce", testInviteUsedOnce},
		{"BackupCodeAndTOTPStepUsedOnce", testBackupCodeAndTOTPStepUsedOnce},
		{"EmailMFATokenUsedOnce", testEmailMFATokenUsedOnce},
		{"WebAuthnChallengeUsedOnce", testWebAuthnChallengeUsedOnce},
		{"PasskeyCounterUsedOnce", testPasskeyCounterUsedOnce},
		{"SAMLAssertionIDUsedOnce", testSAMLAssertionIDUsedOnce},
		{"FeatureFlagConcurrentUpdatesOneWins", testFeatureFlagConcurrentUpdatesOneWins},
		{"PersonalAPIKeyLimitUnderConcurrency", testPersonalAPIKeyLimitUnderConcurrency},
		{"SocialUnlinkKeepsOne", testSocialUnlinkKeepsOne},
		{"RevokedKeyFailsOnNextRead", testRevokedKeyFailsOnNextRead},
		{"AuthGenerationMovesOnAuthChanges", testAuthGenerationMovesOnAuthChanges},
		{"Counters", testCounters},
		{"OutboxLeases", testOutboxLeases},
		{"OutboxLeaseUnderConcurrency", testOutboxLeaseUnderConcurrency},
		{"SessionExpiry", testSessionExpiry},
		{"SessionEndsTakeTheirMarks", testSessionEndsTakeTheirMarks},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, open(t)) })
	}
}

// race runs fn n times at once and returns how many calls won.
func race(t *testing.T, n int, fn func(i int) (won bool, err error)) int {
	t.Helper()
	var wins atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			won, err := fn(i)
			if err != nil {
				t.Error(err)
			}
			if won {
				wins.Add(1)
			}
		})
	}
	close(start)
	wg.Wait()
	return int(wins.Load())
}

// newOwner creates an organization with a project and its owner.
func newOwner(t *testing.T, s *store.Store, email string) (*gatehouse.Organization, *gatehouse.Project, *gatehouse.User) {
	t.Helper()
	org := &gatehouse.Organization{ID: gatehouse.NewUUID(), Name: "Acme", MembersCanUsePersonalAPIKeys: true}
	secret := gatehouse.NewProjectSecret()
	project := &gatehouse.Project{Name: "Default project", APIToken: gatehouse.NewProjectToken(),
		SecretTokenHash: gatehouse.HashToken(secret), SecretTokenMask: gatehouse.MaskToken(secret)}
	user := &gatehouse.User{UUID: gatehouse.NewUUID(), Email: email, FirstName: "Ada", PasswordHash: "argon2id$fake", IsActive: true}
	if err := s.CreateOrganizationWithOwner(context.Background(), org, project, user); err != nil {
		t.Fatalf("CreateOrganizationWithOwner: %v", err)
	}
	return org, project, user
}

// newSession stores a session of userID created at created and living
// for life, and returns its key hash.
func newSession(t *testing.T, s *store.Store, userID int64, created time.Time, life time.Duration) string {
	t.Helper()
	_, hash := gatehouse.NewSessionKey()
	sess := &gatehouse.Session{PublicID: gatehouse.NewUUID(), UserID: userID, CreatedAt: created, ExpiresAt: created.Add(life),
		LastActivityAt: created, ClientIP: "203.0.113.5", UserAgent: "Mozilla/5.0 Firefox/140.0", LoginMethod: "password"}
	if err := s.CreateSession(context.Background(), hash, sess); err != nil {
		t.Fatal(err)
	}
	return hash
}

// base is a fixed instant for tests that pass the time explicitly.
var base = time.UnixMilli(1_800_000_000_000).UTC()

// A reset token completes once: of concurrent completions exactly one
// sets the password (and ends the user's sessions); a newer request or a
// password changed meanwhile kills the token.
func testResetTokenUsedOnce(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, u := newOwner(t, s, "reset@example.com")
	sess := newSession(t, s, u.ID, time.Now(), time.Hour)
	if err := s.SetPasswordResetRequestedAt(ctx, u.ID, base); err != nil {
		t.Fatal(err)
	}
	wins := race(t, 8, func(i int) (bool, error) {
		_, ok, err := s.CompletePasswordReset(ctx, u.ID, base, u.PasswordHash, gatehouse.Secret(fmt.Sprintf("argon2id$new-%d", i)))
		return ok, err
	})
	if wins != 1 {
		t.Fatalf("%d concurrent completions of one reset succeeded, want 1", wins)
	}
	got, err := s.UserByID(ctx, u.ID)
	if err != nil || !strings.HasPrefix(got.PasswordHash.Reveal(), "argon2id$new-") {
		t.Fatalf("password after reset: %v", err)
	}
	if _, pending, err := s.PasswordResetRequestedAt(ctx, u.ID); pending || err != nil {
		t.Fatalf("reset still pending after completion: %v %v", pending, err)
	}
	if _, err := s.SessionByKeyHash(ctx, sess); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("session survived the reset: %v", err)
	}

	// A newer request supersedes the older token.
	hash := got.PasswordHash
	s.SetPasswordResetRequestedAt(ctx, u.ID, base)
	s.SetPasswordResetRequestedAt(ctx, u.ID, base.Add(time.Minute))
	if _, ok, err := s.CompletePasswordReset(ctx, u.ID, base, hash, "argon2id$stale"); ok || err != nil {
		t.Fatalf("superseded token: %v %v", ok, err)
	}
	// A password changed after the request kills the token.
	if err := s.SetPasswordHash(ctx, u.ID, "argon2id$changed"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.CompletePasswordReset(ctx, u.ID, base.Add(time.Minute), hash, "argon2id$stale"); ok || err != nil {
		t.Fatalf("token after a password change: %v %v", ok, err)
	}
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "argon2id$changed" {
		t.Fatal("a refused completion changed the password")
	}
}

// An invite is used once: of concurrent accepts or joins exactly one
// succeeds and the others get ErrInviteInvalid; a join by a member is
// ErrConflict and leaves the invite pending; a new invite to the same
// email replaces the pending one.
func testInviteUsedOnce(t *testing.T, s *store.Store) {
	ctx := context.Background()
	org, _, owner := newOwner(t, s, "inviter@example.com")
	now := time.Now().UTC().Truncate(time.Millisecond)
	newInvite := func(email string) *gatehouse.Invite {
		inv := &gatehouse.Invite{ID: gatehouse.NewUUID(), OrganizationID: org.ID, TargetEmail: email, Level: gatehouse.LevelMember,
			CreatedByUserID: owner.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateInvite(ctx, inv); err != nil {
			t.Fatal(err)
		}
		return inv
	}
	settle := func(err error) (bool, error) {
		if errors.Is(err, gatehouse.ErrInviteInvalid) {
			return false, nil
		}
		return err == nil, err
	}

	accept := newInvite("new@example.com")
	wins := race(t, 8, func(i int) (bool, error) {
		u := &gatehouse.User{UUID: gatehouse.NewUUID(), Email: fmt.Sprintf("new%d@example.com", i), PasswordHash: "argon2id$fake", IsActive: true}
		return settle(s.AcceptInvite(ctx, accept.ID, now, u))
	})
	if wins != 1 {
		t.Fatalf("%d concurrent accepts of one invite succeeded, want 1", wins)
	}
	if got, err := s.InviteByID(ctx, accept.ID); err != nil || got.UsedAt.IsZero() {
		t.Fatalf("accepted invite not marked used: %+v %v", got, err)
	}

	join := newInvite("joiner@example.com")
	var joiners []int64
	for i := range 4 {
		_, _, u := newOwner(t, s, fmt.Sprintf("joiner%d@example.com", i))
		joiners = append(joiners, u.ID)
	}
	wins = race(t, len(joiners), func(i int) (bool, error) { return settle(s.JoinByInvite(ctx, join.ID, now, joiners[i])) })
	if wins != 1 {
		t.Fatalf("%d concurrent joins with one invite succeeded, want 1", wins)
	}

	member := newInvite("member@example.com")
	if err := s.JoinByInvite(ctx, member.ID, now, owner.ID); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("join by a member: %v", err)
	}
	if got, _ := s.InviteByID(ctx, member.ID); !got.UsedAt.IsZero() {
		t.Fatal("a refused join used the invite")
	}
	if err := s.JoinByInvite(ctx, member.ID, now.Add(time.Hour), joiners[0]); !errors.Is(err, gatehouse.ErrInviteInvalid) {
		t.Fatalf("join with an expired invite: %v", err)
	}
	replacement := newInvite("MEMBER@example.com")
	pending, err := s.ListPendingInvites(ctx, org.ID, now)
	if err != nil || len(pending) != 1 || pending[0].ID != replacement.ID {
		t.Fatalf("pending after a second invite to one email: %+v %v", pending, err)
	}
}

// Of concurrent uses of one backup code, or of one TOTP step, exactly one
// wins; a step not later than the last used one is refused.
func testBackupCodeAndTOTPStepUsedOnce(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, u := newOwner(t, s, "race@example.com")
	if err := s.EnableTOTP(ctx, u.ID, []byte("sealed"), 10, []string{"h1", "h2"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if wins := race(t, 16, func(int) (bool, error) { return s.ConsumeBackupCode(ctx, u.ID, "h1") }); wins != 1 {
		t.Fatalf("backup code used %d times", wins)
	}
	if wins := race(t, 16, func(int) (bool, error) { return s.UseTOTPStep(ctx, u.ID, 11) }); wins != 1 {
		t.Fatalf("TOTP step used %d times", wins)
	}
	if n, _ := s.CountBackupCodes(ctx, u.ID); n != 1 {
		t.Fatalf("%d codes left", n)
	}
	if ok, _ := s.UseTOTPStep(ctx, u.ID, 10); ok {
		t.Fatal("an earlier step accepted")
	}
}

// An emailed sign-in link works once, for its user, until it expires.
func testEmailMFATokenUsedOnce(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, u := newOwner(t, s, "link@example.com")
	_, _, other := newOwner(t, s, "other@example.com")
	if err := s.CreateEmailMFAToken(ctx, "tok-1", u.ID, base.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ConsumeEmailMFAToken(ctx, "tok-1", other.ID, base); ok || err != nil {
		t.Fatalf("another user's token consumed: %v %v", ok, err)
	}
	if wins := race(t, 8, func(int) (bool, error) { return s.ConsumeEmailMFAToken(ctx, "tok-1", u.ID, base) }); wins != 1 {
		t.Fatalf("emailed link used %d times", wins)
	}
	if err := s.CreateEmailMFAToken(ctx, "tok-2", u.ID, base.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ConsumeEmailMFAToken(ctx, "tok-2", u.ID, base.Add(10*time.Minute)); ok || err != nil {
		t.Fatalf("expired link consumed: %v %v", ok, err)
	}
}

// A WebAuthn challenge is consumed once, for its purpose, before it
// expires.
func testWebAuthnChallengeUsedOnce(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, u := newOwner(t, s, "ch@example.com")
	now := time.Now()
	c := &gatehouse.PasskeyChallenge{Purpose: "register", UserID: u.ID, CredentialRef: 7, Ceremony: []byte(`{"challenge":"x"}`), ExpiresAt: now.Add(5 * time.Minute)}
	if err := s.SaveWebAuthnChallenge(ctx, "h1", c); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeWebAuthnChallenge(ctx, "h1", "login", now); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("other purpose: %v", err)
	}
	wins := race(t, 8, func(int) (bool, error) {
		got, err := s.ConsumeWebAuthnChallenge(ctx, "h1", "register", now)
		if errors.Is(err, gatehouse.ErrNotFound) {
			return false, nil
		}
		if err == nil && (got.UserID != u.ID || got.CredentialRef != 7 || string(got.Ceremony) != `{"challenge":"x"}`) {
			return true, fmt.Errorf("consumed %+v", got)
		}
		return err == nil, err
	})
	if wins != 1 {
		t.Fatalf("challenge consumed %d times", wins)
	}
	// Expired: not consumable, and swept.
	login := &gatehouse.PasskeyChallenge{Purpose: "login", Ceremony: []byte(`{}`), ExpiresAt: now.Add(5 * time.Minute)}
	if err := s.SaveWebAuthnChallenge(ctx, "h2", login); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeWebAuthnChallenge(ctx, "h2", "login", now.Add(5*time.Minute)); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("expired challenge consumed: %v", err)
	}
	if _, err := s.DeleteExpiredWebAuthnChallenges(ctx, now.Add(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeWebAuthnChallenge(ctx, "h2", "login", now); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("swept challenge consumed: %v", err)
	}
}

// Of concurrent uses of one passkey signature counter value, one wins.
func testPasskeyCounterUsedOnce(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, u := newOwner(t, s, "pk@example.com")
	p := &gatehouse.Passkey{UserID: u.ID, CredentialID: []byte("cred-1"), Label: "Passkey", PublicKey: []byte{1, 2, 3}, Algorithm: -7, CreatedAt: time.Now()}
	if err := s.CreatePasskey(ctx, p); err != nil {
		t.Fatal(err)
	}
	if wins := race(t, 8, func(int) (bool, error) { return s.UsePasskey(ctx, p.ID, 9, false, false, time.Now()) }); wins != 1 {
		t.Fatalf("%d concurrent uses of counter 9 won", wins)
	}
	if ok, _ := s.UsePasskey(ctx, p.ID, 8, false, false, time.Now()); ok {
		t.Fatal("a lower counter accepted")
	}
}

// An assertion ID is accepted once per domain, even when copies arrive at
// the same moment; expired records make room again.
func testSAMLAssertionIDUsedOnce(t *testing.T, s *store.Store) {
	ctx := context.Background()
	now := time.Now()
	id := "_" + gatehouse.NewUUID()
	if fresh := race(t, 8, func(int) (bool, error) { return s.UseSAMLAssertionID(ctx, "domain-a", id, now.Add(time.Minute), now) }); fresh != 1 {
		t.Fatalf("%d of 8 concurrent copies accepted, want 1", fresh)
	}
	// The same ID from another domain's IdP is another assertion.
	if ok, err := s.UseSAMLAssertionID(ctx, "domain-b", id, now.Add(time.Minute), now); !ok || err != nil {
		t.Fatalf("other domain: %v %v", ok, err)
	}
	// Once the record expired it is gone (the assertion's own time limits
	// refuse it by then).
	later := now.Add(2 * time.Minute)
	if ok, err := s.UseSAMLAssertionID(ctx, "domain-a", id, later.Add(time.Minute), later); !ok || err != nil {
		t.Fatalf("after expiry: %v %v", ok, err)
	}
}

// Of concurrent edits of one flag version, one is saved; the others get
// ErrVersionConflict.
func testFeatureFlagConcurrentUpdatesOneWins(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, project, _ := newOwner(t, s, "race@example.com")
	f := &gatehouse.FeatureFlag{ProjectID: project.ID, Key: "race", Active: true}
	if err := s.CreateFeatureFlag(ctx, f); err != nil {
		t.Fatal(err)
	}
	wins := race(t, 8, func(int) (bool, error) {
		c := *f
		c.Name = "edit"
		err := s.UpdateFeatureFlag(ctx, &c)
		if errors.Is(err, gatehouse.ErrVersionConflict) {
			return false, nil
		}
		return err == nil, err
	})
	if wins != 1 {
		t.Fatalf("%d concurrent edits of version 1 succeeded", wins)
	}
}

// The personal API key limit holds under concurrent creations.
func testPersonalAPIKeyLimitUnderConcurrency(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, u := newOwner(t, s, "limit@example.com")
	const max = 3
	wins := race(t, 8, func(i int) (bool, error) {
		k := &gatehouse.PersonalAPIKey{ID: gatehouse.NewUUID(), UserID: u.ID, Label: fmt.Sprintf("k%d", i), MaskValue: "phx_...",
			SecureValue: fmt.Sprintf("sha256$limit-%d", i), Scopes: []string{"*"}, CreatedAt: time.Now()}
		err := s.CreatePersonalAPIKey(ctx, k, max)
		if errors.Is(err, gatehouse.ErrKeyLimit) {
			return false, nil
		}
		return err == nil, err
	})
	if keys, _ := s.PersonalAPIKeysOfUser(ctx, u.ID); wins != max || len(keys) != max {
		t.Fatalf("%d concurrent creations succeeded, %d keys stored; want %d", wins, len(keys), max)
	}
}

// Unlinking with keepOne leaves the user one link even when the unlinks
// of the last two run at once; an identity links to one user only.
func testSocialUnlinkKeepsOne(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, u := newOwner(t, s, "links@example.com")
	_, _, other := newOwner(t, s, "other@example.com")
	var ids []string
	for _, uid := range []string{"1", "2"} {
		l := &gatehouse.SocialLink{ID: gatehouse.NewUUID(), UserID: u.ID, Backend: "github", UID: uid, Email: u.Email, CreatedAt: time.Now()}
		if err := s.CreateSocialLink(ctx, l); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, l.ID)
	}
	taken := &gatehouse.SocialLink{ID: gatehouse.NewUUID(), UserID: other.ID, Backend: "github", UID: "1", CreatedAt: time.Now()}
	if err := s.CreateSocialLink(ctx, taken); !errors.Is(err, gatehouse.ErrConflict) {
		t.Fatalf("an identity linked twice: %v", err)
	}
	if wins := race(t, 2, func(i int) (bool, error) { return s.DeleteSocialLink(ctx, u.ID, ids[i], true) }); wins != 1 {
		t.Fatalf("%d of two concurrent unlinks with keepOne succeeded", wins)
	}
	left, err := s.SocialLinksOfUser(ctx, u.ID)
	if err != nil || len(left) != 1 {
		t.Fatalf("links left: %+v %v", left, err)
	}
	if ok, _ := s.DeleteSocialLink(ctx, u.ID, left[0].ID, true); ok {
		t.Fatal("keepOne deleted the last link")
	}
	if ok, _ := s.DeleteSocialLink(ctx, u.ID, left[0].ID, false); !ok {
		t.Fatal("the last link not deleted without keepOne")
	}
}

// A deleted, rolled or narrowed key is seen so by the very next read, on
// every connection: personal keys, project secret keys and project secret
// tokens.
func testRevokedKeyFailsOnNextRead(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, project, u := newOwner(t, s, "keys@example.com")
	_, _, other := newOwner(t, s, "other@example.com")
	now := time.Now().UTC().Truncate(time.Millisecond)
	lookup := func(hash string) (*gatehouse.PersonalAPIKey, error) {
		k, owner, err := s.PersonalAPIKeyByHash(ctx, hash)
		if err == nil && owner.ID != u.ID {
			t.Fatalf("key of user %d found with user %d", u.ID, owner.ID)
		}
		return k, err
	}

	k := &gatehouse.PersonalAPIKey{ID: gatehouse.NewUUID(), UserID: u.ID, Label: "k", MaskValue: "phx_...a", SecureValue: "sha256$revoke-1", Scopes: []string{"*"}, CreatedAt: now}
	if err := s.CreatePersonalAPIKey(ctx, k, gatehouse.MaxPersonalAPIKeys); err != nil {
		t.Fatal(err)
	}
	if _, err := lookup("sha256$revoke-1"); err != nil {
		t.Fatal(err)
	}
	k.Scopes = []string{"user:read"}
	if err := s.UpdatePersonalAPIKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	if got, err := lookup("sha256$revoke-1"); err != nil || !slices.Equal(got.Scopes, []string{"user:read"}) {
		t.Fatalf("narrowed key read back: %+v %v", got, err)
	}
	if err := s.RollPersonalAPIKey(ctx, u.ID, k.ID, "sha256$revoke-2", "phx_...b", now); err != nil {
		t.Fatal(err)
	}
	if _, err := lookup("sha256$revoke-1"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("rolled-away value still found: %v", err)
	}
	if _, err := lookup("sha256$revoke-2"); err != nil {
		t.Fatalf("rolled value: %v", err)
	}
	if ok, _ := s.DeletePersonalAPIKey(ctx, other.ID, k.ID); ok {
		t.Fatal("another user deleted the key")
	}
	if ok, err := s.DeletePersonalAPIKey(ctx, u.ID, k.ID); !ok || err != nil {
		t.Fatalf("delete: %v %v", ok, err)
	}
	if _, err := lookup("sha256$revoke-2"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleted key still found: %v", err)
	}
	if ok, _ := s.DeletePersonalAPIKey(ctx, u.ID, k.ID); ok {
		t.Fatal("deleted twice")
	}

	pk := &gatehouse.ProjectSecretAPIKey{ID: gatehouse.NewUUID(), ProjectID: project.ID, Label: "server", MaskValue: "phs_...a",
		SecureValue: "sha256$psk-1", Scopes: []string{"feature_flag:read"}, CreatedAt: now, CreatedByID: u.ID}
	if err := s.CreateProjectSecretAPIKey(ctx, pk, gatehouse.MaxProjectSecretAPIKeys); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ProjectSecretAPIKeyByHash(ctx, "sha256$psk-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RollProjectSecretAPIKey(ctx, project.ID, pk.ID, "sha256$psk-2", "phs_...b", now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ProjectSecretAPIKeyByHash(ctx, "sha256$psk-1"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("rolled-away project key still found: %v", err)
	}
	if ok, err := s.DeleteProjectSecretAPIKey(ctx, project.ID, pk.ID); !ok || err != nil {
		t.Fatalf("delete project key: %v %v", ok, err)
	}
	if _, err := s.ProjectSecretAPIKeyByHash(ctx, "sha256$psk-2"); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleted project key still found: %v", err)
	}

	// Rotating the project secret keeps the old one as the backup until
	// the backup is deleted.
	old := project.SecretTokenHash
	if err := s.RotateProjectSecret(ctx, project.ID, "sha256$rotated", "phs_...r"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{old, "sha256$rotated"} {
		if p, err := s.ProjectBySecretTokenHash(ctx, h); err != nil || p.ID != project.ID {
			t.Fatalf("secret %s after rotation: %v", h, err)
		}
	}
	if err := s.DeleteProjectSecretBackup(ctx, project.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ProjectBySecretTokenHash(ctx, old); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("deleted backup secret still found: %v", err)
	}
}

// Every change to auth state moves the auth generation, so caches keyed
// by it see the change on the next request; last-use bookkeeping does not
// move it.
func testAuthGenerationMovesOnAuthChanges(t *testing.T, s *store.Store) {
	ctx := context.Background()
	gen := func() int64 {
		t.Helper()
		v, err := s.AuthGeneration(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	org, project, user := newOwner(t, s, "gen@example.com")
	otherOrg, _, _ := newOwner(t, s, "gen-other@example.com")
	now := time.Now().UTC()
	k := &gatehouse.PersonalAPIKey{ID: gatehouse.NewUUID(), UserID: user.ID, Label: "k", MaskValue: "phx_...", SecureValue: "sha256$gen-test", Scopes: []string{"*"}, CreatedAt: now}
	pk := &gatehouse.ProjectSecretAPIKey{ID: gatehouse.NewUUID(), ProjectID: project.ID, Label: "p", MaskValue: "phs_...", SecureValue: "sha256$gen-psk", Scopes: []string{"feature_flag:read"}, CreatedAt: now}
	for _, step := range []struct {
		name   string
		change func() error
		moves  bool
	}{
		{"user name", func() error { return s.UpdateUserNames(ctx, user.ID, "Ada", "Lovelace") }, true},
		{"password", func() error { return s.SetPasswordHash(ctx, user.ID, "argon2id$other") }, true},
		{"organization settings", func() error { org.Name = "Renamed"; return s.UpdateOrganization(ctx, org) }, true},
		{"membership", func() error { return s.AddMembership(ctx, user.ID, otherOrg.ID, gatehouse.LevelMember) }, true},
		{"project token", func() error { return s.SetProjectAPIToken(ctx, project.ID, gatehouse.NewProjectToken()) }, true},
		{"key created", func() error { return s.CreatePersonalAPIKey(ctx, k, gatehouse.MaxPersonalAPIKeys) }, true},
		{"key last use", func() error { return s.TouchPersonalAPIKey(ctx, k.ID, now.Add(2*time.Hour), now.Add(time.Hour), true) }, false},
		{"key narrowed", func() error { k.Scopes = []string{"user:read"}; return s.UpdatePersonalAPIKey(ctx, k) }, true},
		{"key rolled", func() error { return s.RollPersonalAPIKey(ctx, user.ID, k.ID, "sha256$gen-rolled", "phx_...", now) }, true},
		{"key deleted", func() error { _, err := s.DeletePersonalAPIKey(ctx, user.ID, k.ID); return err }, true},
		{"project key created", func() error { return s.CreateProjectSecretAPIKey(ctx, pk, gatehouse.MaxProjectSecretAPIKeys) }, true},
		{"project key last use", func() error { return s.TouchProjectSecretAPIKey(ctx, pk.ID, now.Add(time.Hour)) }, false},
		{"project key deleted", func() error { _, err := s.DeleteProjectSecretAPIKey(ctx, project.ID, pk.ID); return err }, true},
		{"TOTP enabled", func() error { return s.EnableTOTP(ctx, user.ID, []byte("sealed"), 1, []string{"h"}, now) }, true},
		{"TOTP reset", func() error { _, err := s.ResetTwoFactor(ctx, user.ID); return err }, true},
		{"passkey added", func() error {
			return s.CreatePasskey(ctx, &gatehouse.Passkey{UserID: user.ID, CredentialID: []byte("gen"), PublicKey: []byte{1}, Algorithm: -7, Verified: true, CreatedAt: now})
		}, true},
		{"passkey 2FA on", func() error { _, err := s.EnablePasskeyTwoFactor(ctx, user.ID, now); return err }, true},
		{"feature flag", func() error {
			return s.CreateFeatureFlag(ctx, &gatehouse.FeatureFlag{ProjectID: project.ID, Key: "gen", Active: true})
		}, true},
	} {
		before := gen()
		if err := step.change(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		after := gen()
		if moved := after > before; moved != step.moves {
			t.Errorf("%s: generation %d -> %d; want moved=%v", step.name, before, after, step.moves)
		}
	}
}

// Counters count atomically in a fixed or sliding window, restart after
// they expire, and read as 0 when missing or expired.
func testCounters(t *testing.T, s *store.Store) {
	ctx := context.Background()
	incr := func(key string, at time.Time, slide bool) (int64, time.Time) {
		t.Helper()
		n, exp, err := s.CounterIncr(ctx, key, at, 10*time.Second, slide)
		if err != nil {
			t.Fatal(err)
		}
		return n, exp
	}
	get := func(key string, at time.Time) (int64, time.Time) {
		t.Helper()
		n, exp, err := s.CounterGet(ctx, key, at)
		if err != nil {
			t.Fatal(err)
		}
		return n, exp
	}
	check := func(what string, n int64, exp time.Time, wantN int64, wantExp time.Time) {
		t.Helper()
		if n != wantN || !exp.Equal(wantExp) {
			t.Fatalf("%s: %d expiring %v; want %d expiring %v", what, n, exp, wantN, wantExp)
		}
	}
	n, exp := get("fixed", base)
	check("missing", n, exp, 0, time.Time{})
	n, exp = incr("fixed", base, false)
	check("first", n, exp, 1, base.Add(10*time.Second))
	n, exp = incr("fixed", base.Add(4*time.Second), false)
	check("second, fixed window", n, exp, 2, base.Add(10*time.Second))
	n, exp = get("fixed", base.Add(10*time.Second-time.Millisecond))
	check("before expiry", n, exp, 2, base.Add(10*time.Second))
	n, exp = get("fixed", base.Add(10*time.Second))
	check("at expiry", n, exp, 0, time.Time{})
	n, exp = incr("fixed", base.Add(10*time.Second), false)
	check("after expiry", n, exp, 1, base.Add(20*time.Second))
	if err := s.CounterDelete(ctx, "fixed"); err != nil {
		t.Fatal(err)
	}
	n, exp = get("fixed", base.Add(10*time.Second))
	check("deleted", n, exp, 0, time.Time{})
	if err := s.CounterDelete(ctx, "fixed"); err != nil {
		t.Fatalf("deleting a missing counter: %v", err)
	}

	incr("sliding", base, true)
	n, exp = incr("sliding", base.Add(8*time.Second), true)
	check("slid", n, exp, 2, base.Add(18*time.Second))
	n, _ = get("sliding", base.Add(15*time.Second))
	if n != 2 {
		t.Fatalf("sliding counter past its first expiry: %d", n)
	}
	n, _ = get("sliding", base.Add(18*time.Second))
	if n != 0 {
		t.Fatalf("sliding counter past its last expiry: %d", n)
	}

	const hits = 40
	counts := make([]int64, hits)
	race(t, hits, func(i int) (bool, error) {
		var err error
		counts[i], _, err = s.CounterIncr(ctx, "concurrent", base, time.Minute, i%3 == 0)
		return false, err
	})
	slices.Sort(counts)
	for i, c := range counts {
		if c != int64(i+1) {
			t.Fatalf("concurrent increments returned %v, want 1..%d", counts, hits)
		}
	}

	removed, err := s.DeleteExpiredCounters(ctx, base.Add(30*time.Second))
	if err != nil || removed != 1 { // "sliding"; "concurrent" lives a minute
		t.Fatalf("DeleteExpiredCounters removed %d: %v", removed, err)
	}
	if n, _ := get("concurrent", base.Add(30*time.Second)); n != hits {
		t.Fatalf("a live counter was swept: %d", n)
	}
}

// Enqueue queues m and returns its id.
func Enqueue(t *testing.T, s *store.Store, m gatehouse.OutboxMessage) int64 {
	t.Helper()
	id, err := s.EnqueueMail(context.Background(), m)
	if err != nil {
		t.Fatalf("EnqueueMail: %v", err)
	}
	return id
}

// MailByID is the outbox message id, as ListMail shows it.
func MailByID(t *testing.T, s *store.Store, id int64) gatehouse.OutboxMessage {
	t.Helper()
	all, err := s.ListMail(context.Background(), 1000)
	if err != nil {
		t.Fatalf("ListMail: %v", err)
	}
	for _, m := range all {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %d not listed", id)
	return gatehouse.OutboxMessage{}
}

// ClaimMail leases due messages, oldest first: a leased message is not
// claimed again until its lease ends; a failed one waits for its retry
// time, a dead or sent one never returns.
func testOutboxLeases(t *testing.T, s *store.Store) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	due1 := Enqueue(t, s, gatehouse.OutboxMessage{To: "a@example.com", Subject: "1", CreatedAt: now.Add(-time.Minute)})
	later := Enqueue(t, s, gatehouse.OutboxMessage{To: "b@example.com", Subject: "2", NextAttemptAt: now.Add(time.Hour)})
	due2 := Enqueue(t, s, gatehouse.OutboxMessage{To: "c@example.com", Subject: "3", CreatedAt: now})
	sent := Enqueue(t, s, gatehouse.OutboxMessage{To: "d@example.com", Subject: "4", CreatedAt: now})
	if err := s.MarkMailSent(ctx, sent, now); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name  string
		at    time.Time
		n     int
		want  []int64
		after func()
	}{
		{name: "limit", at: now, n: 1, want: []int64{due1}},
		{name: "leased ones are skipped", at: now, n: 10, want: []int64{due2}},
		{name: "all leased", at: now.Add(time.Minute), n: 10, want: nil},
		{name: "lease expired", at: now.Add(6 * time.Minute), n: 10, want: []int64{due1, due2},
			after: func() {
				if err := s.MarkMailFailed(ctx, due1, 1, now.Add(10*time.Minute), "boom", false); err != nil {
					t.Fatal(err)
				}
				if err := s.MarkMailFailed(ctx, due2, 10, now, "boom", true); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "failed one waits, dead one never returns", at: now.Add(7 * time.Minute), n: 10, want: nil},
		{name: "retry and later one due", at: now.Add(2 * time.Hour), n: 10, want: []int64{due1, later}},
	}
	for _, step := range steps {
		got, err := s.ClaimMail(ctx, step.at, step.n, 5*time.Minute)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		var ids []int64
		for _, m := range got {
			ids = append(ids, m.ID)
		}
		if fmt.Sprint(ids) != fmt.Sprint(step.want) {
			t.Fatalf("%s: claimed %v, want %v", step.name, ids, step.want)
		}
		if step.after != nil {
			step.after()
		}
	}
	m := MailByID(t, s, due1)
	if m.Status != gatehouse.OutboxPending || m.Attempts != 1 || m.LastError != "boom" {
		t.Fatalf("failed message: %+v", m)
	}
	if m := MailByID(t, s, due2); m.Status != gatehouse.OutboxFailed || m.Attempts != 10 {
		t.Fatalf("dead message: %+v", m)
	}
}

// Workers claiming at once never lease one message twice.
func testOutboxLeaseUnderConcurrency(t *testing.T, s *store.Store) {
	ctx := context.Background()
	const total = 60
	for i := range total {
		Enqueue(t, s, gatehouse.OutboxMessage{To: fmt.Sprintf("u%d@example.com", i), Subject: "s"})
	}
	var (
		mu      sync.Mutex
		claimed = map[int64]int{}
	)
	now := time.Now().Add(time.Second)
	race(t, 6, func(int) (bool, error) {
		for {
			got, err := s.ClaimMail(ctx, now, 4, time.Hour)
			if err != nil || len(got) == 0 {
				return false, err
			}
			mu.Lock()
			for _, m := range got {
				claimed[m.ID]++
			}
			mu.Unlock()
		}
	})
	if len(claimed) != total {
		t.Fatalf("claimed %d distinct messages, want %d", len(claimed), total)
	}
	for id, n := range claimed {
		if n != 1 {
			t.Fatalf("message %d claimed %d times", id, n)
		}
	}
}

// An expired session is still found by its key (the caller refuses it),
// is not listed among the user's sessions, and is swept.
func testSessionExpiry(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, user := newOwner(t, s, "exp@example.com")
	now := time.Now().UTC().Truncate(time.Millisecond)
	live := newSession(t, s, user.ID, now, time.Hour)
	dead := newSession(t, s, user.ID, now.Add(-3*time.Hour), time.Hour)
	if got, err := s.SessionByKeyHash(ctx, dead); err != nil || !got.ExpiresAt.Before(now) {
		t.Fatalf("expired session by key: %+v %v", got, err)
	}
	list, err := s.UserSessions(ctx, user.ID, now)
	if err != nil || len(list) != 1 {
		t.Fatalf("live sessions: %+v %v", list, err)
	}
	n, err := s.DeleteExpiredSessions(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("deleted %d: %v", n, err)
	}
	if _, err := s.SessionByKeyHash(ctx, live); err != nil {
		t.Fatal("live session deleted")
	}
	if _, err := s.SessionByKeyHash(ctx, dead); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatal("expired session kept")
	}
}

// What hangs on a session goes with it: its second-factor mark ends when
// the session is deleted, whether alone, with the user's other sessions,
// or when SSO claims the account.
func testSessionEndsTakeTheirMarks(t *testing.T, s *store.Store) {
	ctx := context.Background()
	_, _, u := newOwner(t, s, "mark@example.com")
	now := time.Now()
	marked := func() string {
		hash := newSession(t, s, u.ID, now, time.Hour)
		if ok, _ := s.SessionTwoFactorVerified(ctx, hash); ok {
			t.Fatal("new session verified")
		}
		for range 2 { // marking twice is not an error
			if err := s.MarkSessionTwoFactorVerified(ctx, hash, now); err != nil {
				t.Fatal(err)
			}
		}
		if ok, _ := s.SessionTwoFactorVerified(ctx, hash); !ok {
			t.Fatal("mark lost")
		}
		return hash
	}
	gone := func(how, hash string) {
		t.Helper()
		if _, err := s.SessionByKeyHash(ctx, hash); !errors.Is(err, gatehouse.ErrNotFound) {
			t.Errorf("%s: session kept: %v", how, err)
		}
		if ok, _ := s.SessionTwoFactorVerified(ctx, hash); ok {
			t.Errorf("%s: the mark outlived its session", how)
		}
	}

	one := marked()
	if err := s.DeleteSession(ctx, one); err != nil {
		t.Fatal(err)
	}
	gone("DeleteSession", one)

	keep, other := marked(), marked()
	if n, err := s.DeleteUserSessions(ctx, u.ID, keep); err != nil || n != 1 {
		t.Fatalf("DeleteUserSessions: %d %v", n, err)
	}
	gone("DeleteUserSessions", other)
	if ok, _ := s.SessionTwoFactorVerified(ctx, keep); !ok {
		t.Fatal("the kept session lost its mark")
	}

	if _, err := s.ClaimForSSO(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	gone("ClaimForSSO", keep)
	if got, _ := s.UserByID(ctx, u.ID); got.PasswordHash != "" {
		t.Fatal("password still usable after ClaimForSSO")
	}
}
