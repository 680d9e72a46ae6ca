package gatehouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// SSOIdentity is what an identity provider asserted about a user.
type SSOIdentity struct {
	Backend string // "google-oauth2", "github", "gitlab", a custom provider name, or "saml"
	UID     string // the provider's stable subject (SAML: "<organization domain id>:<value>")
	Email   string
	// EmailVerified: only verified provider emails may link or create
	// accounts (SAML: true).
	EmailVerified                 bool
	FirstName, LastName, FullName string
	DomainID                      string // SAML only: the OrganizationDomain whose IdP asserted this
}

// SSOLogin is the request around a completed provider round trip.
type SSOLogin struct {
	InviteID            string // an invite carried through the round trip, if any
	LinkTo              *User  // a signed-in user linking this provider (account linking), else nil
	ClientIP, UserAgent string
	PreviousSessionKey  string // the session cookie the request carried (re-auth detection)
}

// SSOResult is the outcome: a user to sign in, or what the UI must ask next.
type SSOResult struct {
	User    *User
	Created bool // a new account (invite or JIT)
	Linked  bool // a new provider link was made (an email goes out)
	// ConfirmOrganization: no account and no JIT/invite, but organizations
	// may be created: go to the confirm-creation step.
	ConfirmOrganization bool
	// Link is the provider link that was made or used.
	Link *SocialLink
	// TookOver: the account's email was unverified, so the provider's
	// proof of the address took it over (claimed it): its password was
	// made unusable and every session, personal API key and trusted device
	// revoked; it is logged and the address is told. RevokedKeys are the
	// labels of those keys.
	TookOver    bool
	RevokedKeys []string
}

// SocialLink ties a user to an identity at a provider (social-django's
// UserSocialAuth). (Backend, UID) is unique: one identity, one user.
type SocialLink struct {
	ID        string
	UserID    int64
	Backend   string
	UID       string
	Email     string // the provider email when the link was made
	CreatedAt time.Time
}

// SSOStore is what the SSO pipeline needs from storage.
type SSOStore interface {
	UserByEmail(ctx context.Context, email string) (*User, error)
	UserByID(ctx context.Context, id int64) (*User, error)
	DomainByName(ctx context.Context, domain string) (*OrganizationDomain, error)
	CountOrganizations(ctx context.Context) (int, error)
	// SocialLinkByUID finds the link of an identity; ErrNotFound if none.
	SocialLinkByUID(ctx context.Context, backend, uid string) (*SocialLink, error)
	// CreateSocialLink stores l; ErrConflict when the identity is linked
	// already.
	CreateSocialLink(ctx context.Context, l *SocialLink) error
	// SocialLinksOfUser lists a user's links, oldest first.
	SocialLinksOfUser(ctx context.Context, userID int64) ([]SocialLink, error)
	// DeleteSocialLink deletes one of the user's links. With keepOne it
	// deletes only while the user keeps another link, atomically with
	// concurrent unlinks; deleted reports whether a row went.
	DeleteSocialLink(ctx context.Context, userID int64, linkID string, keepOne bool) (deleted bool, err error)
	// ClaimForSSO makes the user's password unusable, marks the email
	// verified, ends every session and deletes every personal API key,
	// trusted device and email sign-in link of the user (and, when the
	// email was explicitly awaiting verification, its passkeys and second
	// factors), in one transaction; revokedKeys are the deleted keys'
	// labels.
	ClaimForSSO(ctx context.Context, userID int64) (revokedKeys []string, err error)
	// UpdateUserNames sets a user's first and last name.
	UpdateUserNames(ctx context.Context, userID int64, first, last string) error
	// CreateSSOUser creates user as a member of orgID at level with that
	// organization and its first project as current, together with link
	// (its UserID is filled), in one transaction; ErrConflict when the
	// email or the identity is taken.
	CreateSSOUser(ctx context.Context, user *User, orgID string, level MembershipLevel, link *SocialLink) error
	// AddMembership makes an existing user a member of orgID at level (and
	// the organization current when the user has none); ErrConflict when
	// the user is a member already.
	AddMembership(ctx context.Context, userID int64, orgID string, level MembershipLevel) error
	CreateOrganizationWithOwner(ctx context.Context, org *Organization, project *Project, owner *User) error
	CreateFirstOrganization(ctx context.Context, org *Organization, project *Project, owner *User) error
	// AcceptInvite is InviteStore's: consume the invite and create user.
	AcceptInvite(ctx context.Context, inviteID string, now time.Time, user *User) error
}

// SSOService runs the pipeline every single sign-on (social or SAML) goes
// through once the provider has proved an identity (docs/posthog-compat.md#social-login).
type SSOService struct {
	Store SSOStore
	// Domains answers enforcement (docs/posthog-compat.md#sso-enforcement); nil: nothing is enforced and
	// nothing is provisioned just in time.
	Domains *DomainService
	// Invites looks up invites carried through the round trip and lets
	// existing users join by them; nil: invites are ignored.
	Invites *InviteService
	// MultiOrgEnabled lets new users create their own organization; else
	// only the first organization of an instance can be created.
	MultiOrgEnabled bool
	// HasPasskeys reports whether the user can sign in with a passkey; nil:
	// passkeys are not counted as a way to sign in.
	HasPasskeys func(ctx context.Context, userID int64) (bool, error)
	Now         func() time.Time
}

func (s *SSOService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// ssoError is a pipeline refusal; Code is the /login?error_code= value.
func ssoError(code, detail string) *Error {
	return &Error{Kind: KindInvalid, Code: code, Detail: detail}
}

// SSOEnforcedCode is the error code of a sign-in refused because the
// email's domain enforces backend (social_auth_allowed, docs/posthog-compat.md#social-login).
func SSOEnforcedCode(backend string) string {
	switch backend {
	case "saml":
		return "saml_sso_enforced"
	case "google-oauth2":
		return "google_sso_enforced"
	case "github":
		return "github_sso_enforced"
	case "gitlab":
		return "gitlab_sso_enforced"
	}
	return "sso_enforced"
}

func (s *SSOService) checkEnforcement(ctx context.Context, backend string, emails ...string) error {
	if s.Domains == nil {
		return nil
	}
	for _, email := range emails {
		if email == "" {
			continue
		}
		enforced, err := s.Domains.EnforcedProvider(ctx, email)
		if err != nil {
			return err
		}
		if enforced != "" && enforced != backend {
			return ssoError(SSOEnforcedCode(enforced), fmt.Sprintf("You can only login with SSO for this account (%s).", enforced))
		}
	}
	return nil
}

// CanCreateOrganization reports whether a new user may create an
// organization: with MULTI_ORG_ENABLED, or while the instance has none.
func (s *SSOService) CanCreateOrganization(ctx context.Context) (bool, error) {
	if s.MultiOrgEnabled {
		return true, nil
	}
	n, err := s.Store.CountOrganizations(ctx)
	return n == 0, err
}

func errUnverifiedEmail() *Error {
	return ssoError("email_not_verified", "The identity provider has not verified this email address.")
}

// Complete runs the pipeline of docs/posthog-compat.md#social-login after the provider proved the identity: enforcement
// of a different method (saml_sso_enforced, google_sso_enforced, …); an
// existing link (backend, uid) → its user; else a user with the same
// VERIFIED email (an unverified account with a password is claimed: the
// password is made unusable, the email marked verified and its sessions
// ended); else an invite, else JIT (verified domain with
// jit_provisioning_enabled), else jit_not_enabled, no_new_organizations or
// ConfirmOrganization. With LinkTo it links the identity to that signed-in
// user instead (the emails must match). Errors are *Error whose Code is
// the /login?error_code=… value.
func (s *SSOService) Complete(ctx context.Context, id SSOIdentity, in SSOLogin) (*SSOResult, error) {
	id.Email = strings.TrimSpace(id.Email)
	if id.Backend == "" || id.UID == "" || len(id.UID) > 255 {
		return nil, ssoError("invalid_sso_response", "The identity provider did not return a user id.")
	}
	link, err := s.Store.SocialLinkByUID(ctx, id.Backend, id.UID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("sso: finding link: %w", err)
	}
	if in.LinkTo != nil {
		return s.link(ctx, id, in.LinkTo, link)
	}
	if link != nil {
		user, err := s.Store.UserByID(ctx, link.UserID)
		if err != nil {
			return nil, fmt.Errorf("sso: linked user: %w", err)
		}
		if err := s.checkEnforcement(ctx, id.Backend, id.Email, user.Email); err != nil {
			return nil, err
		}
		if !user.IsActive {
			return nil, errInactive()
		}
		s.fillNames(ctx, user, id)
		return &SSOResult{User: user, Link: link}, nil
	}
	if err := s.checkEnforcement(ctx, id.Backend, id.Email); err != nil {
		return nil, err
	}
	if id.Email == "" {
		return nil, &Error{Kind: KindInvalid, Code: "required", Attr: "email", Detail: "This field is required and was not provided by the IdP."}
	}
	if !id.EmailVerified {
		// Never match or create by an email the provider has not proved
		// (the "nOAuth" takeover class).
		return nil, errUnverifiedEmail()
	}
	if _, err := NormalizeEmail(id.Email); err != nil {
		return nil, ssoError("invalid_email", "The identity provider returned an invalid email address.")
	}
	user, err := s.Store.UserByEmail(ctx, id.Email)
	switch {
	case err == nil:
		return s.existing(ctx, id, in, user)
	case !errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("sso: finding user: %w", err)
	}
	return s.create(ctx, id, in)
}

func errInactive() *Error {
	return ssoError("inactive_user", "This account is inactive.")
}

// link attaches the identity to a signed-in user (account linking).
func (s *SSOService) link(ctx context.Context, id SSOIdentity, user *User, existing *SocialLink) (*SSOResult, error) {
	if existing != nil {
		if existing.UserID != user.ID {
			return nil, ssoError("social_account_in_use", "This account is already linked to another user.")
		}
		return &SSOResult{User: user, Link: existing}, nil
	}
	if err := s.checkEnforcement(ctx, id.Backend, id.Email, user.Email); err != nil {
		return nil, err
	}
	if id.Email == "" || !id.EmailVerified {
		return nil, errUnverifiedEmail()
	}
	if !strings.EqualFold(id.Email, strings.TrimSpace(user.Email)) {
		return nil, ssoError("email_mismatch", "The email of this account at the provider does not match yours.")
	}
	ctx = WithAuditEvents(ctx, socialLinkEvent(AuditSocialLinkAdded, user, &SocialLink{Backend: id.Backend, Email: id.Email})) // audit log
	l, err := s.newLink(ctx, id, user.ID)
	if err != nil {
		return nil, err
	}
	return &SSOResult{User: user, Linked: true, Link: l}, nil
}

func (s *SSOService) newLink(ctx context.Context, id SSOIdentity, userID int64) (*SocialLink, error) {
	l := &SocialLink{ID: NewUUID(), UserID: userID, Backend: id.Backend, UID: id.UID, Email: id.Email, CreatedAt: s.now()}
	if err := s.Store.CreateSocialLink(ctx, l); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, ssoError("social_account_in_use", "This account is already linked to another user.")
		}
		return nil, fmt.Errorf("sso: linking: %w", err)
	}
	return l, nil
}

// existing signs in the user whose email the provider verified, linking
// the identity (associate_by_email).
func (s *SSOService) existing(ctx context.Context, id SSOIdentity, in SSOLogin, user *User) (*SSOResult, error) {
	if !user.IsActive {
		return nil, errInactive()
	}
	var (
		tookOver bool
		revoked  []string
	)
	if (user.IsEmailVerified == nil || !*user.IsEmailVerified) && user.PasswordHash != "" {
		// Someone may have registered this address with a password they
		// know before its owner arrived: the owner takes it over.
		// Invite acceptance does not verify an address either, so an
		// account made from an invite someone else accepted is taken over
		// here too. What its holder could have planted (personal API keys,
		// trusted devices, sessions, and the passkeys and second factors of
		// an account awaiting verification) goes with the password.
		var err error
		ctx := WithAuditEvents(ctx, AccountEvent(AuditSSOClaimed, user)) // audit log
		if revoked, err = s.Store.ClaimForSSO(ctx, user.ID); err != nil {
			return nil, fmt.Errorf("sso: claiming account: %w", err)
		}
		t := true
		user.PasswordHash, user.IsEmailVerified, tookOver = "", &t, true
	}
	l, err := s.newLink(ctx, id, user.ID)
	if err != nil {
		return nil, err
	}
	s.joinPending(ctx, in, user)
	s.fillNames(ctx, user, id)
	fresh, err := s.Store.UserByID(ctx, user.ID)
	if err != nil {
		return nil, fmt.Errorf("sso: reloading user: %w", err)
	}
	return &SSOResult{User: fresh, Linked: true, Link: l, TookOver: tookOver, RevokedKeys: revoked}, nil
}

// joinPending applies an invite carried through the round trip, or JIT
// provisioning of the user's domain, to an existing user. Neither is
// required for signing in, so failures are ignored.
func (s *SSOService) joinPending(ctx context.Context, in SSOLogin, user *User) {
	if in.InviteID != "" && s.Invites != nil {
		if err := s.Invites.JoinWithInvite(ctx, in.InviteID, user); err == nil {
			return
		}
	}
	if d := s.jitDomain(ctx, user.Email); d != nil {
		_ = s.Store.AddMembership(ctx, user.ID, d.OrganizationID, LevelMember)
	}
}

// jitDomain is the email's verified domain when it provisions accounts
// just in time, else nil.
func (s *SSOService) jitDomain(ctx context.Context, email string) *OrganizationDomain {
	d := s.verifiedDomain(ctx, email)
	if d == nil || !d.JITProvisioningEnabled {
		return nil
	}
	return d
}

func (s *SSOService) verifiedDomain(ctx context.Context, email string) *OrganizationDomain {
	_, host, ok := strings.Cut(email, "@")
	if !ok || host == "" {
		return nil
	}
	d, err := s.Store.DomainByName(ctx, strings.ToLower(host))
	if err != nil || !d.IsVerified() {
		return nil
	}
	return d
}

// ProposedFirstName is the first name the confirm-creation form starts
// with: the provider's first name, or the first word of its full name.
func (id SSOIdentity) ProposedFirstName() string {
	first, _, _ := id.names()
	return first
}

// fillNames fills the user's empty first or last name from what the
// provider sent; names the user set are never replaced. Not needed for
// signing in, so a failure is ignored.
func (s *SSOService) fillNames(ctx context.Context, user *User, id SSOIdentity) {
	first, last, err := id.names()
	if err != nil || (user.FirstName != "" || first == "") && (user.LastName != "" || last == "") {
		return
	}
	if user.FirstName != "" {
		first = user.FirstName
	}
	if user.LastName != "" {
		last = user.LastName
	}
	if s.Store.UpdateUserNames(ctx, user.ID, first, last) == nil {
		user.FirstName, user.LastName = first, last
	}
}

// names returns the first and last name of a new user, or the error
// that the provider sent none.
func (id SSOIdentity) names() (first, last string, err error) {
	first, last = strings.TrimSpace(id.FirstName), strings.TrimSpace(id.LastName)
	if first == "" && last == "" {
		full := strings.TrimSpace(id.FullName)
		first, last, _ = strings.Cut(full, " ")
		last = strings.TrimSpace(last)
	}
	if first == "" {
		first, last = last, ""
	}
	if first == "" {
		return "", "", &Error{Kind: KindInvalid, Code: "required", Attr: "name", Detail: "This field is required and was not provided by the IdP."}
	}
	return clip(first, 128), clip(last, 150), nil
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// create makes a new account for a verified identity: by invite, then JIT.
func (s *SSOService) create(ctx context.Context, id SSOIdentity, in SSOLogin) (*SSOResult, error) {
	first, last, err := id.names()
	if err != nil {
		return nil, err
	}
	verified := true
	newUser := func() *User {
		return &User{UUID: NewUUID(), Email: id.Email, FirstName: first, LastName: last, IsActive: true, IsEmailVerified: &verified}
	}
	if in.InviteID != "" && s.Invites != nil {
		inv, _, err := s.Invites.Lookup(ctx, in.InviteID)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(strings.TrimSpace(inv.TargetEmail), id.Email) {
			return nil, Invalid("invalid_recipient", "", "This invite is intended for another email address.")
		}
		user := newUser()
		err = s.Store.AcceptInvite(ctx, inv.ID, s.now(), user)
		switch {
		case errors.Is(err, ErrInviteInvalid):
			return nil, errInvalidInvite()
		case errors.Is(err, ErrConflict):
			return nil, ssoError("unique", "There is already an account with this email address.")
		case err != nil:
			return nil, fmt.Errorf("sso: accepting invite: %w", err)
		}
		l, err := s.newLink(ctx, id, user.ID)
		if err != nil {
			return nil, err
		}
		return &SSOResult{User: user, Created: true, Linked: true, Link: l}, nil
	}
	domain := s.verifiedDomain(ctx, id.Email)
	if domain != nil && domain.JITProvisioningEnabled {
		user := newUser()
		l := &SocialLink{ID: NewUUID(), Backend: id.Backend, UID: id.UID, Email: id.Email, CreatedAt: s.now()}
		err := s.Store.CreateSSOUser(ctx, user, domain.OrganizationID, LevelMember, l)
		if errors.Is(err, ErrConflict) {
			// A concurrent completion of the same sign-in won the race.
			return nil, ssoError("unique", "There is already an account with this email address.")
		}
		if err != nil {
			return nil, fmt.Errorf("sso: provisioning user: %w", err)
		}
		return &SSOResult{User: user, Created: true, Linked: true, Link: l}, nil
	}
	can, err := s.CanCreateOrganization(ctx)
	if err != nil {
		return nil, err
	}
	if !can {
		if domain != nil {
			return nil, ssoError("jit_not_enabled", "Automatic provisioning is not enabled for your email domain. Ask your administrator for an invite.")
		}
		return nil, ssoError("no_new_organizations", "New organizations cannot be created on this instance. Ask an administrator for an invite.")
	}
	return &SSOResult{ConfirmOrganization: true}, nil
}

// SocialSignup is the confirm-creation step (POST /api/social_signup):
// the user of a verified identity that matched no account names their new
// organization.
type SocialSignup struct {
	OrganizationName string
	FirstName        string
}

// CreateWithOrganization creates the account of a verified identity that
// matched no account, with a new organization it owns, and links the
// identity. Allowed only when organizations may be created.
func (s *SSOService) CreateWithOrganization(ctx context.Context, id SSOIdentity, in SocialSignup) (*SSOResult, error) {
	if id.Email == "" || !id.EmailVerified || id.UID == "" {
		return nil, errUnverifiedEmail()
	}
	if err := s.checkEnforcement(ctx, id.Backend, id.Email); err != nil {
		return nil, err
	}
	can, err := s.CanCreateOrganization(ctx)
	if err != nil {
		return nil, err
	}
	if !can {
		return nil, &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: "New organizations cannot be created on this instance. Ask an administrator for an invite."}
	}
	// The form's first name replaces the provider's; the provider's last
	// name stays.
	first, last, err := id.names()
	if f := strings.TrimSpace(in.FirstName); f != "" {
		first, err = clip(f, 128), nil
	}
	if err != nil {
		return nil, err
	}
	orgName := strings.TrimSpace(in.OrganizationName)
	if orgName == "" {
		orgName = first + "'s Organization"
	}
	if utf8.RuneCountInString(orgName) > 64 {
		return nil, Invalid("max_length", "organization_name", "Ensure this field has no more than 64 characters.")
	}
	verified := true
	secret := NewProjectSecret()
	org := &Organization{ID: NewUUID(), Name: orgName, MembersCanUsePersonalAPIKeys: true}
	project := &Project{Name: "Default project", APIToken: NewProjectToken(), SecretTokenHash: HashToken(secret), SecretTokenMask: MaskToken(secret)}
	user := &User{UUID: NewUUID(), Email: id.Email, FirstName: first, LastName: last, IsActive: true, IsEmailVerified: &verified}
	create := s.Store.CreateOrganizationWithOwner
	if !s.MultiOrgEnabled {
		create = s.Store.CreateFirstOrganization
	}
	err = create(ctx, org, project, user)
	switch {
	case errors.Is(err, ErrSignupClosed):
		return nil, &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: "New organizations cannot be created on this instance. Ask an administrator for an invite.", Err: err}
	case errors.Is(err, ErrConflict):
		return nil, Invalid("unique", "email", "There is already an account with this email address.")
	case err != nil:
		return nil, err
	}
	l, err := s.newLink(ctx, id, user.ID)
	if err != nil {
		return nil, err
	}
	return &SSOResult{User: user, Created: true, Linked: true, Link: l}, nil
}

// Links lists the user's provider links.
func (s *SSOService) Links(ctx context.Context, user *User) ([]SocialLink, error) {
	return s.Store.SocialLinksOfUser(ctx, user.ID)
}

// Unlink removes one of the user's provider links, chosen by id or, when
// id is "", the only link to backend. The last way to sign in (no usable
// password, no passkey, no other link) cannot be removed.
func (s *SSOService) Unlink(ctx context.Context, user *User, backend, id string) (*SocialLink, error) {
	links, err := s.Store.SocialLinksOfUser(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	var target *SocialLink
	for i := range links {
		l := &links[i]
		if (id != "" && l.ID == id && (backend == "" || l.Backend == backend)) || (id == "" && l.Backend == backend) {
			if target != nil {
				return nil, Invalid("ambiguous", "", "You have several %s accounts linked: choose one by its id.", backend)
			}
			target = l
		}
	}
	if target == nil {
		return nil, NotFound()
	}
	keepOne := user.PasswordHash == ""
	if keepOne && s.HasPasskeys != nil {
		has, err := s.HasPasskeys(ctx, user.ID)
		if err != nil {
			return nil, err
		}
		keepOne = !has
	}
	ctx = WithAuditEvents(ctx, socialLinkEvent(AuditSocialLinkRemoved, user, target)) // audit log
	deleted, err := s.Store.DeleteSocialLink(ctx, user.ID, target.ID, keepOne)
	if err != nil {
		return nil, err
	}
	if !deleted {
		if keepOne {
			return nil, Invalid("last_login_method", "", "This is the last way you can sign in. Set a password or link another account first.")
		}
		return nil, NotFound()
	}
	return target, nil
}
