package gatehouse

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// AccountStore is what account creation needs from storage.
type AccountStore interface {
	CreateOrganizationWithOwner(ctx context.Context, org *Organization, project *Project, owner *User) error
	CreateFirstOrganization(ctx context.Context, org *Organization, project *Project, owner *User) error
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	ProjectByID(ctx context.Context, id int64) (*Project, error)
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
	ProfileStore
	UserSessions(ctx context.Context, userID int64, now time.Time) ([]Session, error)
	DeleteSessionByPublicID(ctx context.Context, userID int64, publicID string) (bool, error)
}

// AccountService creates and manages accounts.
type AccountService struct {
	Store AccountStore
	// HashPassword turns a password into its stored form.
	HashPassword func(Secret) Secret
	// CheckPassword enforces the password policy; nil accepts any password
	// of at least MinPasswordLength characters.
	CheckPassword func(pw Secret, userInputs ...string) error
	// Passwords verifies current passwords and hashes new ones with
	// bounded concurrency (profile changes).
	Passwords PasswordChecker
	// Guard is the login lockout: current-password checks count toward
	// it like logins; nil: no lockout (tests only).
	Guard LoginGuard

	// profiles holds profiles loaded under the request's auth generation
	// (see gencache.go).
	profiles genCache[profileKey, Profile]
}

type profileKey struct {
	userID    int64
	org       string
	projectID int64
}

// MinPasswordLength is the shortest password accepted anywhere.
const MinPasswordLength = 8

// NewOwner is the input for creating an organization with its first user.
type NewOwner struct {
	Email            string
	Password         Secret
	FirstName        string
	LastName         string
	OrganizationName string
	IsStaff          bool
	// OnlyFirst refuses (403) when an organization already exists: public
	// signup without MULTI_ORG_ENABLED.
	OnlyFirst bool
	// Unverified marks the email as awaiting verification (signup when
	// email is configured); otherwise verification is left unset.
	Unverified bool
	// Verified marks the email as verified: the operator who runs
	// createuser vouches for the address, so a later single sign-on with it
	// links to the account instead of claiming it.
	Verified bool
}

// CreatedOrganization is what CreateOrganizationWithOwner made. ProjectSecret
// is the project's secret token in plaintext, the one time it is known.
type CreatedOrganization struct {
	Organization  *Organization
	Project       *Project
	User          *User
	ProjectSecret Secret
}

// CreateOrganizationWithOwner validates the input and creates an
// organization, its default project and its owner, all or nothing.
func (a *AccountService) CreateOrganizationWithOwner(ctx context.Context, in NewOwner) (*CreatedOrganization, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if err := a.checkPassword(in.Password, email, in.FirstName, in.LastName); err != nil {
		return nil, err
	}
	orgName := strings.TrimSpace(in.OrganizationName)
	if orgName == "" {
		orgName = strings.TrimSpace(in.FirstName + " " + in.LastName)
	}
	if orgName == "" {
		orgName = "My Organization"
	}
	if utf8.RuneCountInString(orgName) > 64 {
		return nil, Invalid("max_length", "organization_name", "Ensure this field has no more than 64 characters.")
	}
	secret := NewProjectSecret()
	out := &CreatedOrganization{
		Organization: &Organization{ID: NewUUID(), Name: orgName, MembersCanUsePersonalAPIKeys: true},
		Project: &Project{Name: "Default project", APIToken: NewProjectToken(),
			SecretTokenHash: HashToken(secret), SecretTokenMask: MaskToken(secret)},
		User: &User{UUID: NewUUID(), Email: email, FirstName: strings.TrimSpace(in.FirstName), LastName: strings.TrimSpace(in.LastName),
			PasswordHash: a.HashPassword(in.Password), IsActive: true, IsStaff: in.IsStaff, IsEmailVerified: emailVerification(in)},
		ProjectSecret: secret,
	}
	create := a.Store.CreateOrganizationWithOwner
	if in.OnlyFirst {
		create = a.Store.CreateFirstOrganization
	}
	err = create(ctx, out.Organization, out.Project, out.User)
	if errors.Is(err, ErrSignupClosed) {
		return nil, &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: "New organizations cannot be created on this instance. Ask an administrator for an invite.", Err: err}
	}
	if errors.Is(err, ErrConflict) {
		return nil, Invalid("unique", "email", "There is already an account with this email address.")
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (a *AccountService) checkPassword(pw Secret, inputs ...string) error {
	if utf8.RuneCountInString(pw.Reveal()) < MinPasswordLength {
		return Invalid("password_too_short", "password", "This password is too short. It must contain at least %d characters.", MinPasswordLength)
	}
	if a.CheckPassword != nil {
		return a.CheckPassword(pw, inputs...)
	}
	return nil
}

// NormalizeEmail trims and checks an email address. The case is kept (as
// PostHog does); uniqueness and lookups ignore it.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", Invalid("required", "email", "This field is required.")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || !strings.Contains(s, "@") || len(s) > 254 || strings.ContainsAny(s, " \t\r\n") {
		return "", Invalid("invalid_input", "email", "Enter a valid email address.")
	}
	return s, nil
}

// Profile is what a signed-in user sees about themselves.
type Profile struct {
	User         *User
	Organization *Organization // current organization, nil if none
	Membership   *Membership   // in the current organization
	Project      *Project      // current project, nil if none
	Memberships  []Membership
}

// Profile gathers the user's current organization, project and memberships.
func (a *AccountService) Profile(ctx context.Context, u *User) (*Profile, error) {
	pk := profileKey{u.ID, u.CurrentOrganizationID, u.CurrentProjectID}
	if hit, ok := a.profiles.get(ctx, pk); ok {
		hit.User = u
		return &hit, nil
	}
	p, err := a.loadProfile(ctx, u)
	if err == nil {
		a.profiles.put(ctx, pk, *p)
	}
	return p, err
}

func (a *AccountService) loadProfile(ctx context.Context, u *User) (*Profile, error) {
	p := &Profile{User: u}
	ms, err := a.Store.MembershipsOfUser(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	p.Memberships = ms
	if u.CurrentOrganizationID != "" {
		org, err := a.Store.OrganizationByID(ctx, u.CurrentOrganizationID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		p.Organization = org
		for i := range ms {
			if ms[i].OrganizationID == u.CurrentOrganizationID {
				p.Membership = &ms[i]
			}
		}
	}
	if u.CurrentProjectID != 0 {
		proj, err := a.Store.ProjectByID(ctx, u.CurrentProjectID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		p.Project = proj
	}
	return p, nil
}

// ProfileStore is what changing one's own account needs from storage.
type ProfileStore interface {
	UpdateUserNames(ctx context.Context, userID int64, first, last string) error
	SetPasswordHash(ctx context.Context, userID int64, hash Secret) error
	DeleteUserSessions(ctx context.Context, userID int64, exceptKeyHash string) (int64, error)
}

// ProfileChange is a PATCH of the signed-in user. Nil fields are left
// alone.
type ProfileChange struct {
	FirstName       *string
	LastName        *string
	Password        *Secret
	CurrentPassword *Secret
	// ClientIP is where the change comes from: a wrong current password
	// counts toward the login lockout of the user's email and this address.
	ClientIP string
}

// RecentAuthAge is how long after signing in a session may take sensitive
// actions (password change, revoking sessions).
const RecentAuthAge = 2 * time.Hour

// ErrNotRecentlyAuthenticated is the refusal of a sensitive action on an
// old session.
func ErrNotRecentlyAuthenticated() *Error {
	return &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: "This action requires you to be recently authenticated."}
}

// RequireRecentAuth refuses sensitive actions on sessions older than
// RecentAuthAge.
func RequireRecentAuth(s *Session, now time.Time) error {
	if s != nil && now.Sub(s.CreatedAt) > RecentAuthAge {
		return ErrNotRecentlyAuthenticated()
	}
	return nil
}

// UpdateProfile applies a change to the signed-in user. A password change
// needs the current password (when the user has one), a recent sign-in,
// and a strong new password; it ends every other session of the user.
// passwordChanged tells the caller to send the notice.
func (a *AccountService) UpdateProfile(ctx context.Context, u *User, sess *Session, keepKeyHash string, ch ProfileChange, now time.Time) (passwordChanged bool, err error) {
	first, last := u.FirstName, u.LastName
	if ch.FirstName != nil {
		first = strings.TrimSpace(*ch.FirstName)
		if utf8.RuneCountInString(first) > 150 {
			return false, Invalid("max_length", "first_name", "Ensure this field has no more than 150 characters.")
		}
	}
	if ch.LastName != nil {
		last = strings.TrimSpace(*ch.LastName)
		if utf8.RuneCountInString(last) > 150 {
			return false, Invalid("max_length", "last_name", "Ensure this field has no more than 150 characters.")
		}
	}
	var newHash Secret
	if ch.Password != nil {
		if err := RequireRecentAuth(sess, now); err != nil {
			return false, err
		}
		if u.PasswordHash != "" {
			if ch.CurrentPassword == nil || *ch.CurrentPassword == "" {
				return false, Invalid("required", "current_password", "This field is required when updating your password.")
			}
			// Reserved like a login's check, so that a stolen session
			// cannot guess the password faster than the lockout allows.
			attempt, err := reservePassword(ctx, a.Guard, u.Email, ch.ClientIP)
			if err != nil {
				return false, err
			}
			ok, _, err := a.Passwords.Verify(ctx, *ch.CurrentPassword, u.PasswordHash)
			if e, isDomain := AsError(err); isDomain {
				attempt.Release(ctx)
				return false, e
			}
			if !ok {
				if err := attempt.Failed(ctx); err != nil {
					return false, err
				}
				return false, Invalid("incorrect_password", "current_password", "Your current password is incorrect.")
			}
			if err := attempt.Succeeded(ctx); err != nil {
				return false, err
			}
		}
		if err := a.checkPassword(*ch.Password, u.Email, first, last); err != nil {
			return false, err
		}
		newHash, err = a.Passwords.Hash(ctx, *ch.Password)
		if err != nil {
			return false, err
		}
	}
	if first != u.FirstName || last != u.LastName {
		if err := a.Store.UpdateUserNames(ctx, u.ID, first, last); err != nil {
			return false, err
		}
		u.FirstName, u.LastName = first, last
	}
	if newHash != "" {
		ctx := WithAuditEvents(ctx, AccountEvent(AuditPasswordChanged, u)) // audit log
		if err := a.Store.SetPasswordHash(ctx, u.ID, newHash); err != nil {
			return false, err
		}
		u.PasswordHash = newHash
		if _, err := a.Store.DeleteUserSessions(ctx, u.ID, keepKeyHash); err != nil {
			return true, err
		}
		return true, nil
	}
	return false, nil
}

// LoginSessions lists the user's live sessions.
func (a *AccountService) LoginSessions(ctx context.Context, userID int64, now time.Time) ([]Session, error) {
	return a.Store.UserSessions(ctx, userID, now)
}

// RevokeSession ends one of the user's own sessions by its public id; it
// needs a recent sign-in.
func (a *AccountService) RevokeSession(ctx context.Context, userID int64, current *Session, publicID string, now time.Time) error {
	if err := RequireRecentAuth(current, now); err != nil {
		return err
	}
	ctx = WithAuditEvents(ctx, sessionEvent(ctx, AuditSessionRevoked, publicID)) // audit log
	ok, err := a.Store.DeleteSessionByPublicID(ctx, userID, publicID)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Kind: KindNotFound, Code: "not_found", Detail: "Login session not found."}
	}
	return nil
}

// RevokeOtherSessions ends every session of the user but the current one
// ("log out everywhere else"); it needs a recent sign-in.
func (a *AccountService) RevokeOtherSessions(ctx context.Context, userID int64, current *Session, currentKeyHash string, now time.Time) (int64, error) {
	if err := RequireRecentAuth(current, now); err != nil {
		return 0, err
	}
	ctx = WithAuditEvents(ctx, sessionEvent(ctx, AuditSessionRevoked, "all_others")) // audit log
	return a.Store.DeleteUserSessions(ctx, userID, currentKeyHash)
}

// emailVerification is the new owner's is_email_verified: true when
// vouched for, false when awaiting verification, else unset.
func emailVerification(in NewOwner) *bool {
	if in.Verified {
		t := true
		return &t
	}
	return unverified(in.Unverified)
}

func unverified(yes bool) *bool {
	if !yes {
		return nil
	}
	f := false
	return &f
}
