package gatehouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// InviteTTL is how long an organization invite can be accepted.
const InviteTTL = 3 * 24 * time.Hour

// Invite asks a person, by email, to join an organization at a level. Its
// ID is random and unguessable: it is the secret in the signup link.
type Invite struct {
	ID              string
	OrganizationID  string
	TargetEmail     string
	FirstName       string
	Level           MembershipLevel
	CreatedByUserID int64 // 0 when the inviter's account is gone
	// CreatedByUUID and CreatedByEmail describe the inviter; stores fill
	// them when reading.
	CreatedByUUID  string
	CreatedByEmail string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	UsedAt         time.Time // zero while the invite is pending
}

// Expired reports whether the invite can no longer be accepted because of
// its age.
func (i *Invite) Expired(now time.Time) bool { return !now.Before(i.ExpiresAt) }

// Pending reports whether the invite can still be accepted.
func (i *Invite) Pending(now time.Time) bool { return i.UsedAt.IsZero() && !i.Expired(now) }

// ErrInviteInvalid is returned by stores when an invite does not exist, has
// expired or was already used.
var ErrInviteInvalid = errors.New("invite not valid")

// NewInviteID returns 122 random bits from crypto/rand formatted as a
// version 4 UUID. NewUUID is time-ordered and partly predictable, so it is
// not fit for a bearer secret.
func NewInviteID() string {
	u, err := uuid.NewRandom()
	if err != nil {
		panic("gatehouse: invite id: " + err.Error())
	}
	return u.String()
}

// InviteStore is what organization invites need from storage.
type InviteStore interface {
	// CreateInvite stores inv, replacing any pending invite to the same
	// organization and email (ignoring case).
	CreateInvite(ctx context.Context, inv *Invite) error
	// ListPendingInvites lists the organization's unused, unexpired invites.
	ListPendingInvites(ctx context.Context, orgID string, now time.Time) ([]Invite, error)
	// DeleteInvite deletes one of the organization's invites and reports
	// whether there was one.
	DeleteInvite(ctx context.Context, orgID, id string) (bool, error)
	// InviteByID finds an invite, used or not (ErrNotFound when missing).
	InviteByID(ctx context.Context, id string) (*Invite, error)
	// AcceptInvite consumes the invite and creates user as a member of its
	// organization, in one transaction; ErrInviteInvalid when the invite is
	// not pending at now, ErrConflict when the email is taken.
	AcceptInvite(ctx context.Context, inviteID string, now time.Time, user *User) error
	// JoinByInvite consumes the invite and adds an existing user to its
	// organization; ErrInviteInvalid as AcceptInvite, ErrConflict when the
	// user is already a member.
	JoinByInvite(ctx context.Context, inviteID string, now time.Time, userID int64) error
	// IsMember reports whether a user with email belongs to the organization.
	IsMember(ctx context.Context, orgID, email string) (bool, error)
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	UserByID(ctx context.Context, id int64) (*User, error)
}

// InviteService lets organization admins invite people, and invitees sign
// up through their invite.
type InviteService struct {
	Store InviteStore
	// Accounts supplies the password policy and hashing of new users.
	Accounts *AccountService
	Now      func() time.Time
	// SSO refuses password signups for emails whose domain enforces SSO
	// (those invitees sign in with the enforced method); nil: none.
	SSO SSOPolicy
}

func (s *InviteService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// CurrentOrganization is the organization reference meaning the user's
// current organization.
const CurrentOrganization = "@current"

// errNotAdmin is the refusal of an organization-admin action to a member.
func errNotAdmin() *Error {
	return &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: "You do not have admin access to this resource."}
}

// errInvalidInvite is the one answer for a missing, expired or used invite.
func errInvalidInvite() *Error {
	return Invalid("invalid_input", "", "The provided invite ID is not valid.")
}

// adminOf resolves orgRef (an organization id or "@current") for user and
// checks that user administers it. A user who is not a member gets
// NotFound, so organization ids cannot be probed.
func (s *InviteService) adminOf(ctx context.Context, user *User, orgRef string) (*Organization, MembershipLevel, error) {
	org, level, err := orgMember(ctx, s.Store, user, orgRef)
	if err != nil {
		return nil, 0, err
	}
	if level < LevelAdmin {
		return nil, 0, errNotAdmin()
	}
	return org, level, nil
}

// NewInvite is an admin's request to invite someone. Level 0 means member.
type NewInvite struct {
	TargetEmail string
	FirstName   string
	Level       MembershipLevel
}

// Create invites someone to the organization orgRef names. Admins may
// invite members; only owners may invite admins; nobody invites owners. A
// pending invite to the same email is replaced.
func (s *InviteService) Create(ctx context.Context, inviter *User, orgRef string, in NewInvite) (*Invite, *Organization, error) {
	org, level, err := s.adminOf(ctx, inviter, orgRef)
	if err != nil {
		return nil, nil, err
	}
	email, err := NormalizeEmail(in.TargetEmail)
	if e, ok := AsError(err); ok {
		e.Attr = "target_email"
		return nil, nil, e
	}
	first := strings.TrimSpace(in.FirstName)
	if utf8.RuneCountInString(first) > 30 {
		return nil, nil, Invalid("max_length", "first_name", "Ensure this field has no more than 30 characters.")
	}
	switch in.Level {
	case 0:
		in.Level = LevelMember
	case LevelMember:
	case LevelAdmin:
		if level < LevelOwner {
			return nil, nil, &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: "Only organization owners can invite admins."}
		}
	default:
		return nil, nil, Invalid("invalid_choice", "level", "\"%d\" is not a valid choice.", int(in.Level))
	}
	member, err := s.Store.IsMember(ctx, org.ID, email)
	if err != nil {
		return nil, nil, err
	}
	if member {
		return nil, nil, Invalid("invalid_input", "target_email", "A user with this email address already belongs to the organization.")
	}
	now := s.now()
	inv := &Invite{ID: NewInviteID(), OrganizationID: org.ID, TargetEmail: email, FirstName: first, Level: in.Level,
		CreatedByUserID: inviter.ID, CreatedByUUID: inviter.UUID, CreatedByEmail: inviter.Email, CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditInviteCreated, OrganizationID: org.ID, Target: inviteTarget(inv),
		Changes: []AuditChange{{Field: "level", Old: nil, New: int(inv.Level)}}})
	if err := s.Store.CreateInvite(ctx, inv); err != nil {
		return nil, nil, fmt.Errorf("creating invite: %w", err)
	}
	return inv, org, nil
}

// List returns the organization's pending invites, newest first.
func (s *InviteService) List(ctx context.Context, user *User, orgRef string) ([]Invite, error) {
	org, _, err := s.adminOf(ctx, user, orgRef)
	if err != nil {
		return nil, err
	}
	list, err := s.Store.ListPendingInvites(ctx, org.ID, s.now())
	if err != nil {
		return nil, err
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.After(list[j].CreatedAt) })
	return list, nil
}

// Delete withdraws one of the organization's invites.
func (s *InviteService) Delete(ctx context.Context, user *User, orgRef, id string) error {
	org, _, err := s.adminOf(ctx, user, orgRef)
	if err != nil {
		return err
	}
	target := AuditTarget{Type: "invite", ID: inviteRef(id)}
	if inv, err := s.Store.InviteByID(ctx, id); err == nil {
		target = inviteTarget(inv)
	}
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditInviteRevoked, OrganizationID: org.ID, Target: target})
	ok, err := s.Store.DeleteInvite(ctx, org.ID, id)
	if err != nil {
		return err
	}
	if !ok {
		return NotFound()
	}
	return nil
}

// Lookup returns a pending invite and its organization, for the signup
// page; anything else is the invalid-invite error.
func (s *InviteService) Lookup(ctx context.Context, id string) (*Invite, *Organization, error) {
	inv, err := s.Store.InviteByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errInvalidInvite()
	}
	if err != nil {
		return nil, nil, err
	}
	if !inv.Pending(s.now()) {
		return nil, nil, errInvalidInvite()
	}
	org, err := s.Store.OrganizationByID(ctx, inv.OrganizationID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil, errInvalidInvite()
	}
	if err != nil {
		return nil, nil, err
	}
	return inv, org, nil
}

// SignupWithInvite creates the invitee's account: the invite's email, a
// membership at the invite's level, and that organization and its first
// project as current. The invite is consumed in the same transaction, so
// it works once. An email that already has an account is refused. The new
// account's email is not verified: the caller mails a verification link.
func (s *InviteService) SignupWithInvite(ctx context.Context, inviteID, first, last string, pw Secret) (*User, error) {
	first, last = strings.TrimSpace(first), strings.TrimSpace(last)
	switch {
	case first == "":
		return nil, Invalid("required", "first_name", "This field is required.")
	case utf8.RuneCountInString(first) > 128:
		return nil, Invalid("max_length", "first_name", "Ensure this field has no more than 128 characters.")
	case utf8.RuneCountInString(last) > 150:
		return nil, Invalid("max_length", "last_name", "Ensure this field has no more than 150 characters.")
	case pw == "":
		return nil, Invalid("required", "password", "This field is required.")
	}
	inv, _, err := s.Lookup(ctx, inviteID)
	if err != nil {
		return nil, err
	}
	if err := checkSSO(ctx, s.SSO, inv.TargetEmail); err != nil {
		return nil, err
	}
	if err := s.Accounts.checkPassword(pw, inv.TargetEmail, first, last); err != nil {
		return nil, err
	}
	var hash Secret
	if s.Accounts.Passwords != nil {
		if hash, err = s.Accounts.Passwords.Hash(ctx, pw); err != nil {
			return nil, err
		}
	} else {
		hash = s.Accounts.HashPassword(pw)
	}
	// Accepting an invite does not prove control of the address: the
	// invite id is shown to the inviting admin and its link may be passed
	// on by hand. The account stays unverified until a link mailed to the
	// address is used, so SSO by the address's real owner takes it over.
	verified := false
	user := &User{UUID: NewUUID(), Email: inv.TargetEmail, FirstName: first, LastName: last, PasswordHash: hash, IsActive: true, IsEmailVerified: &verified}
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditInviteAccepted, Actor: AuditUser(user), OrganizationID: inv.OrganizationID,
		SubjectUUID: user.UUID, Target: inviteTarget(inv), Changes: []AuditChange{{Field: "level", Old: nil, New: int(inv.Level)}}})
	err = s.Store.AcceptInvite(ctx, inviteID, s.now(), user)
	switch {
	case errors.Is(err, ErrInviteInvalid):
		return nil, errInvalidInvite()
	case errors.Is(err, ErrConflict):
		return nil, Invalid("unique", "email", "There is already an account with this email address.")
	case err != nil:
		return nil, fmt.Errorf("accepting invite: %w", err)
	}
	return user, nil
}

// JoinWithInvite adds a signed-in user to the invite's organization: the
// invite must be pending and addressed to the user's email (ignoring
// case), and the user must not be a member yet. The invite is consumed in
// the same transaction as the membership, so it works once.
func (s *InviteService) JoinWithInvite(ctx context.Context, inviteID string, user *User) error {
	inv, _, err := s.Lookup(ctx, inviteID)
	if err != nil {
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(inv.TargetEmail), strings.TrimSpace(user.Email)) {
		return Invalid("invalid_recipient", "", "This invite is intended for another email address.")
	}
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditInviteAccepted, Actor: AuditUser(user), OrganizationID: inv.OrganizationID,
		SubjectUUID: user.UUID, Target: inviteTarget(inv), Changes: []AuditChange{{Field: "level", Old: nil, New: int(inv.Level)}}})
	err = s.Store.JoinByInvite(ctx, inviteID, s.now(), user.ID)
	switch {
	case errors.Is(err, ErrInviteInvalid):
		return errInvalidInvite()
	case errors.Is(err, ErrConflict):
		return Invalid("user_already_member", "", "User already is a member of the organization.")
	case err != nil:
		return fmt.Errorf("joining by invite: %w", err)
	}
	joined, err := s.Store.UserByID(ctx, user.ID)
	if err != nil {
		return fmt.Errorf("joining by invite: %w", err)
	}
	*user = *joined
	return nil
}

// inviteTarget names an invite in the audit log by its email and a digest
// of its id: the id itself is the signup link's secret.
func inviteTarget(inv *Invite) AuditTarget {
	return AuditTarget{Type: "invite", ID: inviteRef(inv.ID), Label: inv.TargetEmail}
}

func inviteRef(id string) string {
	sum := sha256.Sum256([]byte("invite\x00" + id))
	return "inv_" + hex.EncodeToString(sum[:8])
}
