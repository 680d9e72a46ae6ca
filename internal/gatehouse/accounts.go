package gatehouse

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"unicode/utf8"
)

// AccountStore is what account creation needs from storage.
type AccountStore interface {
	CreateOrganizationWithOwner(ctx context.Context, org *Organization, project *Project, owner *User) error
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	ProjectByID(ctx context.Context, id int64) (*Project, error)
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
}

// AccountService creates and manages accounts.
type AccountService struct {
	Store AccountStore
	// HashPassword turns a password into its stored form.
	HashPassword func(Secret) Secret
	// CheckPassword enforces the password policy; nil accepts any password
	// of at least MinPasswordLength characters.
	CheckPassword func(pw Secret, userInputs ...string) error
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
			PasswordHash: a.HashPassword(in.Password), IsActive: true, IsStaff: in.IsStaff},
		ProjectSecret: secret,
	}
	err = a.Store.CreateOrganizationWithOwner(ctx, out.Organization, out.Project, out.User)
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
