package gatehouse

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CurrentProject is the project reference meaning the user's current
// project.
const CurrentProject = "@current"

// OrganizationStore is what the organization and project APIs need from
// storage.
type OrganizationStore interface {
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	ProjectByID(ctx context.Context, id int64) (*Project, error)
	ProjectsOfOrganization(ctx context.Context, orgID string) ([]Project, error)
	// CountMembers counts the organization's active members.
	CountMembers(ctx context.Context, orgID string) (int, error)
	// UpdateOrganization writes name and security settings.
	UpdateOrganization(ctx context.Context, org *Organization) error
	SetProjectAPIToken(ctx context.Context, projectID int64, token string) error
	// RotateProjectSecret makes the current secret the backup (dropping
	// the previous backup) and stores the new one.
	RotateProjectSecret(ctx context.Context, projectID int64, hash, mask string) error
	DeleteProjectSecretBackup(ctx context.Context, projectID int64) error
	// CreateProjectSecretAPIKey inserts k unless the project has max keys
	// (ErrKeyLimit) or the label is taken (ErrConflict).
	CreateProjectSecretAPIKey(ctx context.Context, k *ProjectSecretAPIKey, max int) error
	ProjectSecretAPIKeys(ctx context.Context, projectID int64) ([]ProjectSecretAPIKey, error)
	ProjectSecretAPIKeyByID(ctx context.Context, projectID int64, id string) (*ProjectSecretAPIKey, error)
	UpdateProjectSecretAPIKey(ctx context.Context, k *ProjectSecretAPIKey) error
	RollProjectSecretAPIKey(ctx context.Context, projectID int64, id, hash, mask string, now time.Time) error
	DeleteProjectSecretAPIKey(ctx context.Context, projectID int64, id string) (bool, error)
}

// OrganizationService serves the organization and project APIs: reading
// them, the admins' security settings, and the project's tokens and secret
// keys.
type OrganizationService struct {
	Store OrganizationStore
	Now   func() time.Time
	// TwoFactorEnabled reports whether a user has a second factor; with
	// it, an organization that enforces 2FA can be changed only by admins
	// who have one, whatever credential they use. nil: not checked.
	TwoFactorEnabled func(ctx context.Context, userID int64) (bool, error)
}

func (s *OrganizationService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// levelIn returns user's level in org, 0 when not a member.
func (s *OrganizationService) levelIn(ctx context.Context, user *User, orgID string) (MembershipLevel, error) {
	return membershipLevel(ctx, s.Store, user.ID, orgID)
}

// Organization resolves ref ("@current" or an id) to an organization user
// belongs to, with their level. Non-members get NotFound.
func (s *OrganizationService) Organization(ctx context.Context, user *User, ref string) (*Organization, MembershipLevel, error) {
	return orgMember(ctx, s.Store, user, ref)
}

// OrganizationChange is a PATCH of an organization; nil fields are left
// alone. SessionCookieAge set to a nil *int clears it (ClearSessionAge).
type OrganizationChange struct {
	Name                         *string
	Enforce2FA                   *bool
	MembersCanUsePersonalAPIKeys *bool
	SessionCookieAge             *int
	ClearSessionCookieAge        bool
}

// MaxSessionCookieAge bounds an organization's session lifetime (one year).
const MaxSessionCookieAge = 365 * 24 * 3600

// UpdateOrganization applies ch; only admins and owners may change an
// organization, and a session must be recent (sess nil: a key request).
func (s *OrganizationService) UpdateOrganization(ctx context.Context, user *User, sess *Session, ref string, ch OrganizationChange) (*Organization, MembershipLevel, error) {
	org, level, err := s.Organization(ctx, user, ref)
	if err != nil {
		return nil, 0, err
	}
	if level < LevelAdmin {
		return nil, 0, errNotAdmin()
	}
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return nil, 0, err
	}
	if org.Enforce2FA && s.TwoFactorEnabled != nil {
		has, err := s.TwoFactorEnabled(ctx, user.ID)
		if err != nil {
			return nil, 0, err
		}
		if !has {
			return nil, 0, &Error{Kind: KindPermissionDenied, Code: "two_factor_setup_required", Detail: "2FA setup required"}
		}
	}
	before := *org
	if ch.Name != nil {
		name := strings.TrimSpace(*ch.Name)
		if name == "" {
			return nil, 0, Invalid("blank", "name", "This field may not be blank.")
		}
		if utf8.RuneCountInString(name) > 64 {
			return nil, 0, Invalid("max_length", "name", "Ensure this field has no more than 64 characters.")
		}
		org.Name = name
	}
	if ch.Enforce2FA != nil {
		org.Enforce2FA = *ch.Enforce2FA
	}
	if ch.MembersCanUsePersonalAPIKeys != nil {
		org.MembersCanUsePersonalAPIKeys = *ch.MembersCanUsePersonalAPIKeys
	}
	if ch.ClearSessionCookieAge {
		org.SessionCookieAge = nil
	} else if ch.SessionCookieAge != nil {
		if v := *ch.SessionCookieAge; v < 60 || v > MaxSessionCookieAge {
			return nil, 0, Invalid("invalid_input", "session_cookie_age", "Session cookie age must be between 60 and %d seconds.", MaxSessionCookieAge)
		}
		org.SessionCookieAge = ch.SessionCookieAge
	}
	if changes := organizationChanges(&before, org); len(changes) > 0 {
		ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditOrgSettingsChanged, OrganizationID: org.ID,
			Target: AuditTarget{Type: "organization", ID: org.ID, Label: org.Name}, Changes: changes})
	}
	if err := s.Store.UpdateOrganization(ctx, org); err != nil {
		return nil, 0, fmt.Errorf("updating organization: %w", err)
	}
	return org, level, nil
}

// Projects lists the projects of user's current organization.
func (s *OrganizationService) Projects(ctx context.Context, user *User) ([]Project, error) {
	org, _, err := s.Organization(ctx, user, CurrentOrganization)
	if err != nil {
		if e, ok := AsError(err); ok && e.Kind == KindNotFound {
			return []Project{}, nil
		}
		return nil, err
	}
	return s.Store.ProjectsOfOrganization(ctx, org.ID)
}

// ParseProjectRef turns "@current" or a decimal id into a project id (0
// when it names nothing).
func ParseProjectRef(user *User, ref string) int64 {
	if ref == CurrentProject {
		return user.CurrentProjectID
	}
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// Project resolves ref to a project of an organization user belongs to,
// with their level there. Others get NotFound.
func (s *OrganizationService) Project(ctx context.Context, user *User, ref string) (*Project, MembershipLevel, error) {
	id := ParseProjectRef(user, ref)
	if id == 0 {
		return nil, 0, NotFound()
	}
	p, err := s.Store.ProjectByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, NotFound()
	}
	if err != nil {
		return nil, 0, err
	}
	level, err := s.levelIn(ctx, user, p.OrganizationID)
	if err != nil {
		return nil, 0, err
	}
	if level == 0 {
		return nil, 0, NotFound()
	}
	return p, level, nil
}

// projectAdmin is Project for actions that need an admin and, for session
// requests, a recent sign-in.
func (s *OrganizationService) projectAdmin(ctx context.Context, user *User, sess *Session, ref string) (*Project, error) {
	p, level, err := s.Project(ctx, user, ref)
	if err != nil {
		return nil, err
	}
	if level < LevelAdmin {
		return nil, errNotAdmin()
	}
	if err := RequireRecentAuth(sess, s.now()); err != nil {
		return nil, err
	}
	return p, nil
}

// ResetProjectToken gives the project a new public token; the old one
// stops working at once.
func (s *OrganizationService) ResetProjectToken(ctx context.Context, user *User, sess *Session, ref string) (*Project, error) {
	p, err := s.projectAdmin(ctx, user, sess, ref)
	if err != nil {
		return nil, err
	}
	tok := NewProjectToken()
	ctx = WithAuditEvents(ctx, projectEvent(AuditProjectTokenReset, p))
	if err := s.Store.SetProjectAPIToken(ctx, p.ID, tok); err != nil {
		return nil, err
	}
	p.APIToken = tok
	return p, nil
}

// RotateProjectSecret makes a new project secret; the previous one becomes
// the backup and keeps working, the older backup stops. The plaintext is
// returned once.
func (s *OrganizationService) RotateProjectSecret(ctx context.Context, user *User, sess *Session, ref string) (*Project, Secret, error) {
	p, err := s.projectAdmin(ctx, user, sess, ref)
	if err != nil {
		return nil, "", err
	}
	sec := NewProjectSecret()
	ctx = WithAuditEvents(ctx, projectEvent(AuditProjectSecretRotated, p))
	if err := s.Store.RotateProjectSecret(ctx, p.ID, HashToken(sec), MaskToken(sec)); err != nil {
		return nil, "", err
	}
	p, err = s.Store.ProjectByID(ctx, p.ID)
	return p, sec, err
}

// DeleteProjectSecretBackup revokes the backup secret.
func (s *OrganizationService) DeleteProjectSecretBackup(ctx context.Context, user *User, sess *Session, ref string) (*Project, error) {
	p, err := s.projectAdmin(ctx, user, sess, ref)
	if err != nil {
		return nil, err
	}
	ctx = WithAuditEvents(ctx, projectEvent(AuditProjectSecretDropped, p))
	if err := s.Store.DeleteProjectSecretBackup(ctx, p.ID); err != nil {
		return nil, err
	}
	p.SecretTokenBackupHash, p.SecretTokenBackupMask = "", ""
	return p, nil
}

// ProjectSecretAPIKey is a project-level secret key (phs_) for server SDKs,
// stored like a personal API key: hash and mask only.
type ProjectSecretAPIKey struct {
	ID           string
	ProjectID    int64
	Label        string
	MaskValue    string
	SecureValue  string
	Scopes       []string
	CreatedAt    time.Time
	CreatedByID  int64 // 0 when the creator is gone
	LastUsedAt   time.Time
	LastRolledAt time.Time
}

// MaxProjectSecretAPIKeys is how many secret keys one project may hold.
const MaxProjectSecretAPIKeys = 10

// projectSecretKeyScopes are the scopes a project secret key may carry.
// PostHog allows endpoint:read; Gatehouse adds feature_flag:read, what
// server SDKs' local evaluation needs.
var projectSecretKeyScopes = map[string]bool{"endpoint:read": true, "feature_flag:read": true}

func validateProjectKeyScopes(scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, Invalid("required", "scopes", "At least one scope is required.")
	}
	out := []string{}
	for _, sc := range scopes {
		if !projectSecretKeyScopes[sc] {
			return nil, Invalid("invalid_input", "scopes", "Invalid scope: %s", sc)
		}
		if !containsString(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

func validateKeyLabel(label string) (string, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		return "", Invalid("blank", "label", "This field may not be blank.")
	}
	if utf8.RuneCountInString(label) > 40 {
		return "", Invalid("max_length", "label", "Ensure this field has no more than 40 characters.")
	}
	return label, nil
}

// ProjectSecretKeys lists a project's secret keys (any member may read).
func (s *OrganizationService) ProjectSecretKeys(ctx context.Context, user *User, ref string) ([]ProjectSecretAPIKey, error) {
	p, _, err := s.Project(ctx, user, ref)
	if err != nil {
		return nil, err
	}
	return s.Store.ProjectSecretAPIKeys(ctx, p.ID)
}

// ProjectSecretKey returns one secret key of a project.
func (s *OrganizationService) ProjectSecretKey(ctx context.Context, user *User, ref, id string) (*ProjectSecretAPIKey, error) {
	p, _, err := s.Project(ctx, user, ref)
	if err != nil {
		return nil, err
	}
	k, err := s.Store.ProjectSecretAPIKeyByID(ctx, p.ID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	return k, err
}

func errProjectKeyLabel() *Error {
	return Invalid("unique", "label", "A secret key with this label already exists in this project.")
}

// CreateProjectSecretKey makes a secret key; admins only. The plaintext is
// returned once.
func (s *OrganizationService) CreateProjectSecretKey(ctx context.Context, user *User, sess *Session, ref, label string, scopes []string) (*ProjectSecretAPIKey, Secret, error) {
	p, err := s.projectAdmin(ctx, user, sess, ref)
	if err != nil {
		return nil, "", err
	}
	if label, err = validateKeyLabel(label); err != nil {
		return nil, "", err
	}
	if scopes, err = validateProjectKeyScopes(scopes); err != nil {
		return nil, "", err
	}
	value := NewProjectSecret()
	k := &ProjectSecretAPIKey{ID: RandomToken(20), ProjectID: p.ID, Label: label, Scopes: scopes, CreatedAt: s.now(), CreatedByID: user.ID,
		SecureValue: HashToken(value), MaskValue: MaskToken(value)}
	ctx = WithAuditEvents(ctx, projectKeyEvent(AuditProjectKeyCreated, p, k.ID, k.Label, AuditChange{Field: "scopes", Old: nil, New: k.Scopes}))
	err = s.Store.CreateProjectSecretAPIKey(ctx, k, MaxProjectSecretAPIKeys)
	switch {
	case errors.Is(err, ErrKeyLimit):
		return nil, "", Invalid("invalid_input", "", "You can only have %d secret keys per project. Remove an existing key before creating a new one.", MaxProjectSecretAPIKeys)
	case errors.Is(err, ErrConflict):
		return nil, "", errProjectKeyLabel()
	case err != nil:
		return nil, "", err
	}
	return k, value, nil
}

// UpdateProjectSecretKey changes a secret key's label or scopes; admins
// only.
func (s *OrganizationService) UpdateProjectSecretKey(ctx context.Context, user *User, sess *Session, ref, id string, label *string, scopes *[]string) (*ProjectSecretAPIKey, error) {
	p, err := s.projectAdmin(ctx, user, sess, ref)
	if err != nil {
		return nil, err
	}
	k, err := s.Store.ProjectSecretAPIKeyByID(ctx, p.ID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	if err != nil {
		return nil, err
	}
	old := *k
	if label != nil {
		if k.Label, err = validateKeyLabel(*label); err != nil {
			return nil, err
		}
	}
	if scopes != nil {
		if k.Scopes, err = validateProjectKeyScopes(*scopes); err != nil {
			return nil, err
		}
	}
	var changes []AuditChange
	if old.Label != k.Label {
		changes = append(changes, AuditChange{Field: "label", Old: old.Label, New: k.Label})
	}
	if !slices.Equal(old.Scopes, k.Scopes) {
		changes = append(changes, AuditChange{Field: "scopes", Old: old.Scopes, New: k.Scopes})
	}
	ctx = WithAuditEvents(ctx, projectKeyEvent(AuditProjectKeyChanged, p, k.ID, k.Label, changes...))
	err = s.Store.UpdateProjectSecretAPIKey(ctx, k)
	if errors.Is(err, ErrConflict) {
		return nil, errProjectKeyLabel()
	}
	return k, err
}

// RollProjectSecretKey gives a secret key a new value; admins only.
func (s *OrganizationService) RollProjectSecretKey(ctx context.Context, user *User, sess *Session, ref, id string) (*ProjectSecretAPIKey, Secret, error) {
	p, err := s.projectAdmin(ctx, user, sess, ref)
	if err != nil {
		return nil, "", err
	}
	value := NewProjectSecret()
	now := s.now()
	ctx = WithAuditEvents(ctx, projectKeyEvent(AuditProjectKeyRolled, p, id, ""))
	err = s.Store.RollProjectSecretAPIKey(ctx, p.ID, id, HashToken(value), MaskToken(value), now)
	if errors.Is(err, ErrNotFound) {
		return nil, "", NotFound()
	}
	if err != nil {
		return nil, "", err
	}
	k, err := s.Store.ProjectSecretAPIKeyByID(ctx, p.ID, id)
	if err != nil {
		return nil, "", err
	}
	k.SecureValue, k.MaskValue, k.LastRolledAt = HashToken(value), MaskToken(value), now
	return k, value, nil
}

// DeleteProjectSecretKey removes a secret key; admins only.
func (s *OrganizationService) DeleteProjectSecretKey(ctx context.Context, user *User, sess *Session, ref, id string) error {
	p, err := s.projectAdmin(ctx, user, sess, ref)
	if err != nil {
		return err
	}
	ctx = WithAuditEvents(ctx, projectKeyEvent(AuditProjectKeyDeleted, p, id, ""))
	ok, err := s.Store.DeleteProjectSecretAPIKey(ctx, p.ID, id)
	if err != nil {
		return err
	}
	if !ok {
		return NotFound()
	}
	return nil
}

// Target is what a request works on: an organization the user belongs
// to, with their level there, and the project (0 when none).
type Target struct {
	Organization *Organization
	Level        MembershipLevel
	ProjectID    int64
}

// KeyTarget resolves what a request works on, for the key rules
// (CheckKeyAccess) and the organization's 2FA requirement: the project
// named by projectRef (when not "") and its organization, or else the
// organization named by orgRef (when not ""), with the user's level there.
// An organization the user does not belong to, or a project that does not
// exist, leaves Organization nil.
func (s *OrganizationService) KeyTarget(ctx context.Context, user *User, orgRef, projectRef string) (Target, error) {
	var t Target
	if projectRef != "" {
		t.ProjectID = ParseProjectRef(user, projectRef)
		if t.ProjectID == 0 {
			return t, nil
		}
		p, err := s.Store.ProjectByID(ctx, t.ProjectID)
		if errors.Is(err, ErrNotFound) {
			return t, nil
		}
		if err != nil {
			return Target{}, err
		}
		orgRef = p.OrganizationID
	}
	if orgRef == "" {
		return t, nil
	}
	org, level, err := s.Organization(ctx, user, orgRef)
	if e, ok := AsError(err); ok && e.Kind == KindNotFound {
		return t, nil
	}
	if err != nil {
		return Target{}, err
	}
	t.Organization, t.Level = org, level
	return t, nil
}

// ProjectsOf lists the projects of org, which the caller has resolved
// with Organization (so the user is a member), and counts its members.
func (s *OrganizationService) ProjectsOf(ctx context.Context, org *Organization) ([]Project, int, error) {
	projects, err := s.Store.ProjectsOfOrganization(ctx, org.ID)
	if err != nil {
		return nil, 0, err
	}
	members, err := s.Store.CountMembers(ctx, org.ID)
	return projects, members, err
}

// organizationChanges lists the settings an update changed, old → new.
func organizationChanges(old, org *Organization) []AuditChange {
	var out []AuditChange
	if old.Name != org.Name {
		out = append(out, AuditChange{Field: "name", Old: old.Name, New: org.Name})
	}
	if old.Enforce2FA != org.Enforce2FA {
		out = append(out, AuditChange{Field: "enforce_2fa", Old: old.Enforce2FA, New: org.Enforce2FA})
	}
	if old.MembersCanUsePersonalAPIKeys != org.MembersCanUsePersonalAPIKeys {
		out = append(out, AuditChange{Field: "members_can_use_personal_api_keys", Old: old.MembersCanUsePersonalAPIKeys, New: org.MembersCanUsePersonalAPIKeys})
	}
	if !equalIntPtr(old.SessionCookieAge, org.SessionCookieAge) {
		out = append(out, AuditChange{Field: "session_cookie_age", Old: old.SessionCookieAge, New: org.SessionCookieAge})
	}
	return out
}

func equalIntPtr(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// projectEvent records a change to a project's tokens: the fact, never
// the token.
func projectEvent(typ AuditEventType, p *Project) AuditEvent {
	return AuditEvent{Type: typ, OrganizationID: p.OrganizationID, ProjectID: p.ID,
		Target: AuditTarget{Type: "project", ID: strconv.FormatInt(p.ID, 10), Label: p.Name}}
}

func projectKeyEvent(typ AuditEventType, p *Project, id, label string, changes ...AuditChange) AuditEvent {
	return AuditEvent{Type: typ, OrganizationID: p.OrganizationID, ProjectID: p.ID,
		Target: AuditTarget{Type: "project_secret_api_key", ID: id, Label: label}, Changes: changes}
}
