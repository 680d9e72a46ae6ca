package gatehouse

import (
	"encoding/json"
	"time"
)

// MembershipLevel is a user's rank in an organization. The numbers are
// PostHog's, so comparisons such as "at least admin" read naturally.
type MembershipLevel int

// Membership levels, as PostHog numbers them.
const (
	LevelMember MembershipLevel = 1
	LevelAdmin  MembershipLevel = 8
	LevelOwner  MembershipLevel = 15
)

// String names the level as PostHog's API does.
func (l MembershipLevel) String() string {
	switch l {
	case LevelMember:
		return "member"
	case LevelAdmin:
		return "admin"
	case LevelOwner:
		return "owner"
	}
	return "unknown"
}

// Organization is the tenant that owns projects and has members. Its
// security settings apply to every member.
type Organization struct {
	ID                           string // UUID
	Name                         string
	Enforce2FA                   bool
	MembersCanUsePersonalAPIKeys bool
	SessionCookieAge             *int // seconds; nil means the instance default
	CreatedAt                    time.Time
}

// Project (PostHog's "team") belongs to an organization and owns events. Its
// APIToken is public; SecretAPIToken and its backup are secrets.
type Project struct {
	ID             int64
	OrganizationID string
	Name           string
	APIToken       string
	// The secret token (phs_) is stored only as a hash and a mask; its
	// plaintext is shown once, when it is made. The backup is the previous
	// secret, kept working after a rotation until it is deleted.
	SecretTokenHash       string
	SecretTokenMask       string
	SecretTokenBackupHash string // "" when there is no backup
	SecretTokenBackupMask string
	CreatedAt             time.Time
}

// User is a person who can sign in.
type User struct {
	ID                    int64
	UUID                  string
	Email                 string
	FirstName             string
	LastName              string
	PasswordHash          Secret // "" when the user has no usable password
	IsActive              bool
	IsStaff               bool
	IsEmailVerified       *bool // nil for accounts created before verification existed
	CurrentOrganizationID string
	CurrentProjectID      int64
	CreatedAt             time.Time
	// PendingEmail is the address an email change waits to confirm ("":
	// none).
	PendingEmail string
}

// Membership links a user to an organization at a level.
type Membership struct {
	OrganizationID string
	UserID         int64
	Level          MembershipLevel
	CreatedAt      time.Time
}

// Event is one captured analytics event as stored.
type Event struct {
	UUID       string
	ProjectID  int64
	Name       string
	DistinctID string
	Timestamp  string          // as the client sent it, may be ""
	Properties json.RawMessage // the whole event object as received
	ReceivedAt time.Time
}
