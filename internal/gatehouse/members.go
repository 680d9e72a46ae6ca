package gatehouse

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// Member is one membership as the members API shows it: the user, their
// level and what an admin needs to judge the account.
type Member struct {
	User          User
	Level         MembershipLevel
	JoinedAt      time.Time
	UpdatedAt     time.Time
	TwoFactor     bool      // a TOTP device, or passkeys as second factor with a passkey
	HasSocialAuth bool      // at least one social or SSO link
	LastLoginAt   time.Time // newest live session's start; zero when none
}

// MemberStore is what the members API needs from storage.
type MemberStore interface {
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	ProjectByID(ctx context.Context, id int64) (*Project, error)
	ProjectsOfOrganization(ctx context.Context, orgID string) ([]Project, error)
	// OrganizationMembers lists an organization's active members, newest
	// first, with the total count.
	OrganizationMembers(ctx context.Context, orgID string, limit, offset int) ([]Member, int, error)
	// OrganizationMember is one member, found by user UUID (ErrNotFound).
	OrganizationMember(ctx context.Context, orgID, userUUID string) (*Member, error)
	// SetMembershipLevel changes a level. It refuses (ErrLastOwner) to
	// take the organization's last owner below owner, checked under a
	// lock so that two owners demoting each other cannot both succeed.
	SetMembershipLevel(ctx context.Context, orgID string, userID int64, level MembershipLevel, now time.Time) error
	// RemoveMembership deletes a membership; a user whose current
	// organization it was moves to their first remaining organization and
	// its first project (or none). It refuses an owner's (ErrLastOwner).
	RemoveMembership(ctx context.Context, orgID string, userID int64) error
	// SetCurrentOrganization makes orgID and projectID the user's current
	// organization and project.
	SetCurrentOrganization(ctx context.Context, userID int64, orgID string, projectID int64) error
	CountOrganizations(ctx context.Context) (int, error)
}

// ErrLastOwner is returned by stores when a change would leave an
// organization without an owner, or remove an owner.
var ErrLastOwner = errors.New("an organization keeps its owners")

// MemberService runs the members API: listing an organization's members,
// changing their levels, removing them, and switching the user's current
// organization and project.
//
// Removing a member or changing a level takes effect on the member's very
// next request: every request resolves the membership from the store (or
// from caches keyed by the auth generation, which a membership change
// moves).
type MemberService struct {
	Store MemberStore
	Now   func() time.Time
}

func (s *MemberService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func memberDenied(detail string) *Error {
	return &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: detail}
}

// Organizations lists the organizations user belongs to, with the level
// there, in the order joined.
func (s *MemberService) Organizations(ctx context.Context, user *User) ([]Organization, []MembershipLevel, error) {
	ms, err := s.Store.MembershipsOfUser(ctx, user.ID)
	if err != nil {
		return nil, nil, err
	}
	orgs := make([]Organization, 0, len(ms))
	levels := make([]MembershipLevel, 0, len(ms))
	for _, m := range ms {
		org, err := s.Store.OrganizationByID(ctx, m.OrganizationID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		orgs = append(orgs, *org)
		levels = append(levels, m.Level)
	}
	return orgs, levels, nil
}

// OrganizationProjects lists the projects of an organization user belongs
// to; others get NotFound.
func (s *MemberService) OrganizationProjects(ctx context.Context, user *User, orgRef string) ([]Project, error) {
	org, _, err := orgMember(ctx, s.Store, user, orgRef)
	if err != nil {
		return nil, err
	}
	return s.Store.ProjectsOfOrganization(ctx, org.ID)
}

// Members lists an organization's members; any member may read. Outsiders
// get the permission error PostHog gives.
func (s *MemberService) Members(ctx context.Context, user *User, orgRef string, limit, offset int) ([]Member, int, error) {
	org, err := s.memberOrg(ctx, user, orgRef)
	if err != nil {
		return nil, 0, err
	}
	return s.Store.OrganizationMembers(ctx, org.ID, limit, offset)
}

// memberOrg resolves orgRef for the members API: an organization the user
// does not belong to (or that does not exist) is a 403, as PostHog's
// membership permission answers it.
func (s *MemberService) memberOrg(ctx context.Context, user *User, orgRef string) (*Organization, error) {
	org, _, err := orgMember(ctx, s.Store, user, orgRef)
	if e, ok := AsError(err); ok && e.Kind == KindNotFound {
		return nil, memberDenied("You do not have permission to perform this action.")
	}
	return org, err
}

// requesterAndTarget finds the requester's and the target's memberships
// ("@me" is the requester). A target outside the organization is
// NotFound.
func (s *MemberService) requesterAndTarget(ctx context.Context, user *User, orgRef, targetUUID string) (*Organization, MembershipLevel, *Member, error) {
	org, err := s.memberOrg(ctx, user, orgRef)
	if err != nil {
		return nil, 0, nil, err
	}
	level, err := membershipLevel(ctx, s.Store, user.ID, org.ID)
	if err != nil {
		return nil, 0, nil, err
	}
	if targetUUID == "@me" {
		targetUUID = user.UUID
	}
	target, err := s.Store.OrganizationMember(ctx, org.ID, targetUUID)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, nil, NotFound()
	}
	if err != nil {
		return nil, 0, nil, err
	}
	return org, level, target, nil
}

// canEditOther applies the rules for acting on another member: admins
// only, and only on members at or below their own level.
func canEditOther(requester MembershipLevel, target *Member) error {
	if requester < LevelAdmin {
		return memberDenied("You can only edit others if you are an admin.")
	}
	if target.Level > requester {
		return memberDenied("You can only edit others with level lower or equal to you.")
	}
	return nil
}

// ParseMembershipLevel checks a level sent by a client.
func ParseMembershipLevel(v int) (MembershipLevel, error) {
	switch l := MembershipLevel(v); l {
	case LevelMember, LevelAdmin, LevelOwner:
		return l, nil
	}
	return 0, Invalid("invalid_choice", "level", "\"%s\" is not a valid choice.", strconv.Itoa(v))
}

// SetLevel changes a member's level. Nobody changes their own level; only
// owners make owners; nobody raises anyone above their own level; only
// admins edit others, and only others at or below their level. Session
// requests need a recent sign-in (sess nil: a key request).
func (s *MemberService) SetLevel(ctx context.Context, user *User, sess *Session, orgRef, targetUUID string, level MembershipLevel) (*Member, error) {
	org, mine, target, err := s.requesterAndTarget(ctx, user, orgRef, targetUUID)
	if err != nil {
		return nil, err
	}
	switch {
	case target.User.ID == user.ID:
		return nil, memberDenied("You can't change your own access level.")
	case level == LevelOwner && mine != LevelOwner:
		return nil, memberDenied("You can only make another member owner if you're this organization's owner.")
	case level > mine:
		return nil, memberDenied("You can only change access level of others to lower or equal to your current one.")
	}
	if err := canEditOther(mine, target); err != nil {
		return nil, err
	}
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return nil, err
	}
	now := s.now()
	ctx = WithAuditEvents(ctx, memberEvent(AuditMemberLevelChanged, org, target,
		AuditChange{Field: "level", Old: int(target.Level), New: int(level)}))
	err = s.Store.SetMembershipLevel(ctx, org.ID, target.User.ID, level, now)
	if errors.Is(err, ErrLastOwner) {
		return nil, memberDenied("An organization must keep at least one owner.")
	}
	if err != nil {
		return nil, err
	}
	target.Level, target.UpdatedAt = level, now
	return target, nil
}

// memberEvent records a change to a membership of org.
func memberEvent(typ AuditEventType, org *Organization, target *Member, changes ...AuditChange) AuditEvent {
	return AuditEvent{Type: typ, OrganizationID: org.ID, SubjectUUID: target.User.UUID,
		Target: AuditTarget{Type: "member", ID: target.User.UUID, Label: target.User.Email}, Changes: changes}
}

// errOwnerCannotLeave is PostHog's refusal to remove an owner membership,
// even with other owners: an owner is demoted first.
func errOwnerCannotLeave() *Error {
	return Invalid("validation_error", "", "Cannot leave the organization as its owner!")
}

// RemoveMember removes a member, or lets a member leave ("@me" or their
// own UUID). Owners can be neither removed nor leave; removing another
// needs an admin at or above the target's level. The removed user's
// sessions and keys lose the organization on their next request.
func (s *MemberService) RemoveMember(ctx context.Context, user *User, sess *Session, orgRef, targetUUID string) (*Member, error) {
	org, mine, target, err := s.requesterAndTarget(ctx, user, orgRef, targetUUID)
	if err != nil {
		return nil, err
	}
	if target.User.ID != user.ID {
		if err := canEditOther(mine, target); err != nil {
			return nil, err
		}
	}
	if target.Level == LevelOwner {
		return nil, errOwnerCannotLeave()
	}
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return nil, err
	}
	ctx = WithAuditEvents(ctx, memberEvent(AuditMemberRemoved, org, target))
	err = s.Store.RemoveMembership(ctx, org.ID, target.User.ID)
	if errors.Is(err, ErrLastOwner) {
		return nil, errOwnerCannotLeave()
	}
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	return target, err
}

// SwitchCurrent changes the user's current organization and/or project.
// An organization the user is not in, or a project they cannot reach, is
// answered as if it did not exist. With only an organization, the
// project becomes its first; with only a project, the organization
// becomes the project's.
func (s *MemberService) SwitchCurrent(ctx context.Context, user *User, orgID *string, projectRef *string) error {
	var org *Organization
	if orgID != nil {
		notFound := Invalid("does_not_exist", "set_current_organization", "Object with id=%s does not exist.", *orgID)
		if *orgID == CurrentOrganization {
			return notFound
		}
		o, _, err := orgMember(ctx, s.Store, user, *orgID)
		if e, ok := AsError(err); ok && e.Kind == KindNotFound {
			return notFound
		}
		if err != nil {
			return err
		}
		org = o
	}
	var projectID int64
	if projectRef != nil {
		notFound := Invalid("does_not_exist", "set_current_team", "Object with id=%s does not exist.", *projectRef)
		id, err := strconv.ParseInt(*projectRef, 10, 64)
		if err != nil || id <= 0 {
			return notFound
		}
		p, err := s.Store.ProjectByID(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return notFound
		}
		if err != nil {
			return err
		}
		if org != nil && p.OrganizationID != org.ID {
			return Invalid("invalid_input", "set_current_team", "Team must belong to the same organization in set_current_organization.")
		}
		if org == nil {
			o, _, err := orgMember(ctx, s.Store, user, p.OrganizationID)
			if e, ok := AsError(err); ok && e.Kind == KindNotFound {
				return notFound
			}
			if err != nil {
				return err
			}
			org = o
		}
		projectID = p.ID
	}
	if org == nil {
		return nil
	}
	if projectID == 0 {
		ps, err := s.Store.ProjectsOfOrganization(ctx, org.ID)
		if err != nil {
			return err
		}
		if len(ps) > 0 {
			projectID = ps[0].ID
		}
	}
	if err := s.Store.SetCurrentOrganization(ctx, user.ID, org.ID, projectID); err != nil {
		return err
	}
	user.CurrentOrganizationID, user.CurrentProjectID = org.ID, projectID
	return nil
}

// FirstRun reports whether the instance has no organization, so no
// account, yet. A failed read answers false.
func (s *MemberService) FirstRun(ctx context.Context) bool {
	n, err := s.Store.CountOrganizations(ctx)
	return err == nil && n == 0
}
