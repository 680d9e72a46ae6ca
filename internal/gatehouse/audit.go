package gatehouse

import (
	"context"
	"net/netip"
	"sync"
	"time"
)

// AuditSchemaVersion is the version field of every audit event's JSON
// line (docs/audit-log.md). It changes only when a field changes meaning
// or goes away; new fields may appear without a new version.
const AuditSchemaVersion = 1

// AuditEventType names what an audit event records ("invite.created").
// The full list is in docs/audit-log.md.
type AuditEventType string

// The audit event types Gatehouse records.
const (
	AuditLoginSucceeded        AuditEventType = "login.succeeded"
	AuditLoginFailed           AuditEventType = "login.failed"
	AuditLoginLocked           AuditEventType = "login.locked"
	AuditLogout                AuditEventType = "logout"
	AuditSessionRevoked        AuditEventType = "session.revoked"
	AuditPasswordChanged       AuditEventType = "password.changed"
	AuditPasswordResetDone     AuditEventType = "password.reset_completed"
	AuditInviteCreated         AuditEventType = "invite.created"
	AuditInviteAccepted        AuditEventType = "invite.accepted"
	AuditInviteRevoked         AuditEventType = "invite.revoked"
	AuditMemberLevelChanged    AuditEventType = "member.level_changed"
	AuditMemberRemoved         AuditEventType = "member.removed"
	AuditOrgSettingsChanged    AuditEventType = "organization.security_settings_changed"
	AuditDomainAdded           AuditEventType = "domain.added"
	AuditDomainVerified        AuditEventType = "domain.verified"
	AuditDomainChanged         AuditEventType = "domain.sso_settings_changed"
	AuditDomainRemoved         AuditEventType = "domain.removed"
	AuditSAMLConfigChanged     AuditEventType = "domain.saml_config_changed"
	AuditPersonalKeyCreated    AuditEventType = "personal_api_key.created"
	AuditPersonalKeyChanged    AuditEventType = "personal_api_key.changed"
	AuditPersonalKeyRolled     AuditEventType = "personal_api_key.rolled"
	AuditPersonalKeyDeleted    AuditEventType = "personal_api_key.deleted"
	AuditProjectKeyCreated     AuditEventType = "project_secret_key.created"
	AuditProjectKeyChanged     AuditEventType = "project_secret_key.changed"
	AuditProjectKeyRolled      AuditEventType = "project_secret_key.rolled"
	AuditProjectKeyDeleted     AuditEventType = "project_secret_key.deleted"
	AuditProjectTokenReset     AuditEventType = "project.api_token_reset"
	AuditProjectSecretRotated  AuditEventType = "project.secret_token_rotated"
	AuditProjectSecretDropped  AuditEventType = "project.secret_token_backup_deleted"
	AuditSocialLinkRemoved     AuditEventType = "social_link.removed"
	AuditSSOClaimed            AuditEventType = "sso.account_claimed"
	AuditTwoFactorResetByAdmin AuditEventType = "two_factor.admin_reset"
	AuditAllowListRefused      AuditEventType = "ip_allow_list.refused"
	AuditTOTPEnabled           AuditEventType = "two_factor.totp_enabled"
	AuditTwoFactorDisabled     AuditEventType = "two_factor.disabled"
	AuditBackupCodesRenewed    AuditEventType = "two_factor.backup_codes_regenerated"
	AuditSAMLOptionsChanged    AuditEventType = "domain.saml_options_changed"
	AuditSocialLinkAdded       AuditEventType = "social_link.added"
	AuditPasswordResetAsked    AuditEventType = "password.reset_requested"
	AuditPasskeyAdded          AuditEventType = "passkey.added"
	AuditPasskeyRemoved        AuditEventType = "passkey.removed"
	AuditTrustedDeviceAdded    AuditEventType = "trusted_device.added"
	AuditTrustedDeviceRemoved  AuditEventType = "trusted_device.removed"
	AuditTrustedDevicesCleared AuditEventType = "trusted_device.cleared"
	AuditSecondFactorPassed    AuditEventType = "two_factor.passed"
	AuditBackupCodeUsed        AuditEventType = "two_factor.backup_code_used"
	AuditPersonalKeyNewAddress AuditEventType = "personal_api_key.used_from_new_address"
	AuditSecondFactorFailed    AuditEventType = "two_factor.failed"
	AuditEmailChangeRequested  AuditEventType = "email.change_requested"
	AuditEmailChangeConfirmed  AuditEventType = "email.change_confirmed"
	AuditAccountDeleted        AuditEventType = "account.deleted"
	AuditEmailMFASent          AuditEventType = "email_mfa.sent"
	AuditEmailMFAUsed          AuditEventType = "email_mfa.used"
	AuditPersonalKeyExpired    AuditEventType = "personal_api_key.expired"
)

// secondFactorEvent records a second sign-in step passed with method
// ("totp", "backup_code", "passkey"); it commits with the code's use (a
// passkey's: with its new sign counter).
func secondFactorEvent(u *User, method string) AuditEvent {
	return withActor(withTarget(AccountEvent(AuditSecondFactorPassed, u), "second_factor", method, ""), u)
}

// sessionEvent records a change to the signed-in user's sessions.
func sessionEvent(ctx context.Context, typ AuditEventType, publicID string) AuditEvent {
	return AuditEvent{Type: typ, SubjectUUID: AuditActorFrom(ctx).UUID, Target: AuditTarget{Type: "session", ID: publicID}}
}

// socialLinkEvent names the provider and the provider's email, never the
// provider's tokens.
func socialLinkEvent(typ AuditEventType, u *User, l *SocialLink) AuditEvent {
	return AuditEvent{Type: typ, SubjectUUID: u.UUID, Target: AuditTarget{Type: "social_link", ID: l.Backend, Label: l.Email}}
}

// AccountEvent is an event about a user's own account.
func AccountEvent(typ AuditEventType, u *User) AuditEvent {
	return AuditEvent{Type: typ, SubjectUUID: u.UUID, Target: AuditTarget{Type: "user", ID: u.UUID, Label: u.Email}}
}

// The outcomes of an audit event.
const (
	AuditSuccess = "success"
	AuditFailure = "failure"
	AuditRefused = "refused"
)

// AuditActor is who did what an audit event records: a user (by uuid and
// email), a personal API key (id and label, with its owner), or the system.
type AuditActor struct {
	Type     string `json:"type"` // "user", "personal_api_key" or "system"
	UUID     string `json:"uuid,omitempty"`
	Email    string `json:"email,omitempty"`
	KeyID    string `json:"key_id,omitempty"`
	KeyLabel string `json:"key_label,omitempty"`
}

// AuditSystem is the actor of what Gatehouse does on its own (expiry,
// sweeps, command-line tools).
var AuditSystem = AuditActor{Type: "system"}

// AuditUser is the actor for a signed-in user.
func AuditUser(u *User) AuditActor {
	if u == nil {
		return AuditSystem
	}
	return AuditActor{Type: "user", UUID: u.UUID, Email: u.Email}
}

// AuditKey is the actor for a request authenticated with a personal API
// key; the key's owner is named too.
func AuditKey(k *PersonalAPIKey, owner *User) AuditActor {
	a := AuditActor{Type: "personal_api_key", KeyID: k.ID, KeyLabel: k.Label}
	if owner != nil {
		a.UUID, a.Email = owner.UUID, owner.Email
	}
	return a
}

// AuditTarget is what an audit event acted on.
type AuditTarget struct {
	Type  string `json:"type"` // "user", "invite", "membership", "organization", "domain", …
	ID    string `json:"id,omitempty"`
	Label string `json:"label,omitempty"`
}

// AuditChange is one field an event changed, old value to new. Values are
// never secrets: a changed secret is recorded as the fact of the change.
type AuditChange struct {
	Field string `json:"field"`
	Old   any    `json:"old"`
	New   any    `json:"new"`
}

// AuditEvent is one entry of the security audit log. It never carries a
// password, token, key, code or assertion.
type AuditEvent struct {
	// Seq is the event's place in the chain, set when it is stored.
	Seq int64
	// ID is a random uuid, set when the event is stored if empty.
	ID   string
	Time time.Time
	Type AuditEventType
	// Actor defaults to the actor attached to the context.
	Actor AuditActor
	// ClientAddr and UserAgent (the browser family only) default to the
	// request's, attached to the context.
	ClientAddr string
	UserAgent  string
	// OrganizationID and ProjectID scope the event; empty/0 when it has none.
	OrganizationID string
	ProjectID      int64
	// SubjectUUID is the user whose account the event concerns, when there
	// is one: the user's own audit log lists events they did or that were
	// done to their account.
	SubjectUUID string
	Target      AuditTarget
	Outcome     string // AuditSuccess when empty
	Reason      string // a reason code for failures and refusals
	Changes     []AuditChange
	// MAC is the event's link in the chain (hex), set when it is stored.
	MAC string
}

// auditClient is where a request comes from. The address and User-Agent
// are kept raw and formatted only when an event is recorded, so requests
// that record nothing pay one small allocation.
type auditClient struct {
	addr      netip.Addr
	userAgent string
}

type auditClientKey struct{}

type auditActorKey struct{}

// WithAuditClient records the request's client address (as the resolver
// saw it) and User-Agent (events keep its browser family) for the events
// recorded under ctx.
func WithAuditClient(ctx context.Context, clientAddr netip.Addr, userAgent string) context.Context {
	return context.WithValue(ctx, auditClientKey{}, &auditClient{clientAddr, userAgent})
}

// WithAuditActor records who is acting for the events recorded under ctx.
func WithAuditActor(ctx context.Context, a AuditActor) context.Context {
	return context.WithValue(ctx, auditActorKey{}, a)
}

// AuditActorFrom is the actor attached to ctx (AuditSystem when none).
func AuditActorFrom(ctx context.Context) AuditActor {
	if a, ok := ctx.Value(auditActorKey{}).(AuditActor); ok {
		return a
	}
	return AuditSystem
}

// CompleteAuditEvent fills what ev leaves empty from the request attached
// to ctx: actor, client address, browser, time and outcome.
func CompleteAuditEvent(ctx context.Context, ev AuditEvent) AuditEvent {
	if ev.Actor.Type == "" {
		ev.Actor = AuditActorFrom(ctx)
	}
	if c, ok := ctx.Value(auditClientKey{}).(*auditClient); ok {
		if ev.ClientAddr == "" && c.addr.IsValid() {
			ev.ClientAddr = c.addr.String()
		}
		if ev.UserAgent == "" && c.userAgent != "" {
			ev.UserAgent = BrowserFamily(c.userAgent)
		}
	}
	if ev.Outcome == "" {
		ev.Outcome = AuditSuccess
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	return ev
}

// pendingAudit holds events waiting for the write that records the change
// they describe.
type pendingAudit struct {
	mu     sync.Mutex
	events []AuditEvent
}

type pendingAuditKey struct{}

// WithAuditEvents attaches events to ctx; the next store write made with
// ctx (or a context derived from it) commits them in the same transaction
// as its change, and a write that does not commit drops them with it.
// Attach right before the store call that makes the change. Events are
// completed from the request (CompleteAuditEvent) when attached.
func WithAuditEvents(ctx context.Context, events ...AuditEvent) context.Context {
	p := &pendingAudit{}
	for _, ev := range events {
		p.events = append(p.events, CompleteAuditEvent(ctx, ev))
	}
	return context.WithValue(ctx, pendingAuditKey{}, p)
}

// TakeAuditEvents removes and returns the events attached to ctx; a store
// calls it inside the transaction that records them. If that transaction
// then fails, give them back with restore so a retry records them.
func TakeAuditEvents(ctx context.Context) (events []AuditEvent, restore func()) {
	p, _ := ctx.Value(pendingAuditKey{}).(*pendingAudit)
	if p == nil {
		return nil, func() {}
	}
	p.mu.Lock()
	events, p.events = p.events, nil
	p.mu.Unlock()
	return events, func() {
		p.mu.Lock()
		p.events = append(events, p.events...)
		p.mu.Unlock()
	}
}

// HasAuditEvents reports whether events wait on ctx.
func HasAuditEvents(ctx context.Context) bool {
	p, _ := ctx.Value(pendingAuditKey{}).(*pendingAudit)
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events) > 0
}

// AuditFilter selects audit events for reading. Zero fields select all.
type AuditFilter struct {
	OrganizationID string
	// AccountUUID selects events a user did or that concern their account.
	AccountUUID string
	ActorUUID   string
	Type        AuditEventType
	TargetID    string
	After       time.Time // inclusive
	Before      time.Time // exclusive
	Limit       int
	Offset      int
}

// AuditLine is the JSON form of an audit event: one line of
// AUDIT_LOG_STREAM and of `gatehouse audit export`, and, without MAC, the
// content the chain signs. docs/audit-log.md documents it.
type AuditLine struct {
	Version        int           `json:"version"`
	Seq            int64         `json:"seq"`
	ID             string        `json:"id"`
	Time           string        `json:"time"` // RFC 3339, UTC, milliseconds
	Type           string        `json:"type"`
	Actor          AuditActor    `json:"actor"`
	Client         AuditClient   `json:"client"`
	OrganizationID string        `json:"organization_id,omitempty"`
	ProjectID      int64         `json:"project_id,omitempty"`
	SubjectUUID    string        `json:"subject_uuid,omitempty"`
	Target         AuditTarget   `json:"target"`
	Outcome        string        `json:"outcome"`
	Reason         string        `json:"reason,omitempty"`
	Changes        []AuditChange `json:"changes,omitempty"`
	MAC            string        `json:"mac,omitempty"`
}

// AuditClient is where a request came from.
type AuditClient struct {
	Address   string `json:"address,omitempty"`
	UserAgent string `json:"user_agent,omitempty"` // browser family
}

// AuditTimeFormat is how AuditLine writes times.
const AuditTimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Line is ev's JSON form.
func (ev *AuditEvent) Line() AuditLine {
	return AuditLine{
		Version: AuditSchemaVersion, Seq: ev.Seq, ID: ev.ID, Time: ev.Time.UTC().Format(AuditTimeFormat),
		Type: string(ev.Type), Actor: ev.Actor, Client: AuditClient{Address: ev.ClientAddr, UserAgent: ev.UserAgent},
		OrganizationID: ev.OrganizationID, ProjectID: ev.ProjectID, SubjectUUID: ev.SubjectUUID, Target: ev.Target,
		Outcome: ev.Outcome, Reason: ev.Reason, Changes: ev.Changes, MAC: ev.MAC,
	}
}

// Event is the event a line describes.
func (l *AuditLine) Event() (AuditEvent, error) {
	t, err := time.Parse(AuditTimeFormat, l.Time)
	if err != nil {
		return AuditEvent{}, err
	}
	return AuditEvent{
		Seq: l.Seq, ID: l.ID, Time: t, Type: AuditEventType(l.Type), Actor: l.Actor, ClientAddr: l.Client.Address,
		UserAgent: l.Client.UserAgent, OrganizationID: l.OrganizationID, ProjectID: l.ProjectID, SubjectUUID: l.SubjectUUID,
		Target: l.Target, Outcome: l.Outcome, Reason: l.Reason, Changes: l.Changes, MAC: l.MAC,
	}, nil
}

func init() {
	// Personal API keys reach the audit log endpoints with audit_log:read.
	scopeObjects["audit_log"] = true
}

// AuditReader reads the audit log.
type AuditReader interface {
	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, int, error)
}

// AuditService reads the audit log for organization admins and for each
// user's own account.
type AuditService struct {
	Store         AuditReader
	Organizations *OrganizationService
	// Refusals writes refusal events in batches; nil: they are not kept.
	Refusals AuditRefusals
}

// MaxAuditPage bounds one page of audit events.
const MaxAuditPage = 1000

// OrganizationLog lists the events of an organization, newest first, and
// how many match; admins and owners only (others get 403, non-members 404).
func (s *AuditService) OrganizationLog(ctx context.Context, user *User, orgRef string, f AuditFilter) ([]AuditEvent, int, error) {
	org, level, err := s.Organizations.Organization(ctx, user, orgRef)
	if err != nil {
		return nil, 0, err
	}
	if level < LevelAdmin {
		return nil, 0, &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: "You need to be an administrator or owner to access this resource."}
	}
	f.OrganizationID, f.AccountUUID = org.ID, ""
	return s.Store.AuditEvents(ctx, clampAuditPage(f))
}

// AccountLog lists the events the user did or that concern their account,
// newest first, and how many match.
func (s *AuditService) AccountLog(ctx context.Context, user *User, f AuditFilter) ([]AuditEvent, int, error) {
	f.AccountUUID, f.OrganizationID = user.UUID, ""
	return s.Store.AuditEvents(ctx, clampAuditPage(f))
}

func clampAuditPage(f AuditFilter) AuditFilter {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, MaxAuditPage)
	f.Offset = max(f.Offset, 0)
	return f
}

func withActor(ev AuditEvent, u *User) AuditEvent {
	ev.Actor = AuditUser(u)
	return ev
}

func withTarget(ev AuditEvent, typ, id, label string) AuditEvent {
	ev.Target = AuditTarget{Type: typ, ID: id, Label: label}
	return ev
}

// loginEvent records a sign-in (the session it started, by its public id,
// and how: password, SSO backend, passkey, …). The user signing in is the
// actor: the request had no session yet.
func loginEvent(u *User, sess *Session) AuditEvent {
	return AuditEvent{Type: AuditLoginSucceeded, Actor: AuditUser(u), SubjectUUID: u.UUID,
		Target: AuditTarget{Type: "session", ID: sess.PublicID, Label: sess.LoginMethod}}
}

// RecordRefusal records a refused attempt (a failed sign-in) through the
// store's batching writer, without waiting; nil-safe.
func (s *AuditService) RecordRefusal(ctx context.Context, ev AuditEvent) {
	if s == nil || s.Refusals == nil {
		return
	}
	s.Refusals.RecordAuditRefusal(ctx, ev)
}

// AuditRefusals queues refusal events (store.RecordAuditRefusal).
type AuditRefusals interface {
	RecordAuditRefusal(ctx context.Context, ev AuditEvent)
}

// adminResetEvent records an admin's reset of target's 2FA in the
// organization that allowed it (the first shared one where actor is an
// admin at target's level or above), so it shows in that organization's
// log; staff resets outside such an organization have none.
func (s *TwoFactorService) adminResetEvent(ctx context.Context, actor, target *User) AuditEvent {
	ev := AccountEvent(AuditTwoFactorResetByAdmin, target)
	mine, err := s.Store.MembershipsOfUser(ctx, actor.ID)
	if err != nil {
		return ev
	}
	theirs, err := s.Store.MembershipsOfUser(ctx, target.ID)
	if err != nil {
		return ev
	}
	for _, t := range theirs {
		for _, m := range mine {
			if m.OrganizationID == t.OrganizationID && m.Level >= LevelAdmin && m.Level >= t.Level {
				ev.OrganizationID = t.OrganizationID
				return ev
			}
		}
	}
	return ev
}

// keyNetworkWindow is how long a network stays known for a key: a use
// from a network not recorded for this long is "from a new address".
const keyNetworkWindow = 30 * 24 * time.Hour

// keyNetworkRecheck is how long an instance trusts its own memory of a
// key's network before asking the database again.
const keyNetworkRecheck = 24 * time.Hour

// maxKeyNetworks bounds that memory; when full it starts over.
const maxKeyNetworks = 100_000

// keyNetworks is an instance's memory of the networks (/24, /48) keys
// were used from, so the key-authenticated path pays a map lookup and the
// database is asked once a day per key and network.
type keyNetworks struct {
	mu   sync.RWMutex
	seen map[keyNetwork]time.Time
}

type keyNetwork struct {
	keyID   string
	network netip.Prefix
}

// keyUseAudit is what recording a key's new address needs from the store.
type keyUseAudit interface {
	AuditReader
	AuditRefusals
}

// noteKeyUse records personal_api_key.used_from_new_address the first
// time a key is used from a network not recorded for it in the last
// keyNetworkWindow (through the batching writer: the request does not
// wait for the write).
func (s *APIKeyService) noteKeyUse(ctx context.Context, k *PersonalAPIKey, user *User) {
	st, ok := s.Store.(keyUseAudit)
	if !ok {
		return
	}
	c, ok := ctx.Value(auditClientKey{}).(*auditClient)
	if !ok || !c.addr.IsValid() {
		return
	}
	addr := c.addr.Unmap()
	bits := 48
	if addr.Is4() {
		bits = 24
	}
	network, err := addr.Prefix(bits)
	if err != nil {
		return
	}
	kn, now := keyNetwork{k.ID, network}, time.Now()
	s.keyNets.mu.RLock()
	last, seen := s.keyNets.seen[kn]
	s.keyNets.mu.RUnlock()
	if seen && now.Sub(last) < keyNetworkRecheck {
		return
	}
	s.keyNets.mu.Lock()
	if s.keyNets.seen == nil || len(s.keyNets.seen) >= maxKeyNetworks {
		s.keyNets.seen = map[keyNetwork]time.Time{}
	}
	s.keyNets.seen[kn] = now
	s.keyNets.mu.Unlock()
	events, _, err := st.AuditEvents(ctx, AuditFilter{Type: AuditPersonalKeyNewAddress, TargetID: k.ID, After: now.Add(-keyNetworkWindow), Limit: MaxAuditPage})
	if err != nil {
		return
	}
	for _, ev := range events {
		if len(ev.Changes) == 1 && ev.Changes[0].New == network.String() {
			return
		}
	}
	st.RecordAuditRefusal(ctx, AuditEvent{Type: AuditPersonalKeyNewAddress, Actor: AuditKey(k, user), SubjectUUID: user.UUID,
		Target: AuditTarget{Type: "personal_api_key", ID: k.ID, Label: k.Label}, Changes: []AuditChange{{Field: "network", Old: nil, New: network.String()}}})
}

// expiredKeyRecheck is how long an instance stays quiet about an expired
// key it recorded: at most one personal_api_key.expired per key and hour.
const expiredKeyRecheck = time.Hour

// expiredKeys is an instance's memory of the expired keys it recorded
// refusals of (bounded by maxKeyNetworks; when full it starts over).
type expiredKeys struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// noteExpiredKey records personal_api_key.expired, outcome refused, for a
// key refused because it went unused too long, through the batching
// writer, at most once per key per instance per expiredKeyRecheck.
func (s *APIKeyService) noteExpiredKey(ctx context.Context, k *PersonalAPIKey, user *User) {
	r, ok := s.Store.(AuditRefusals)
	if !ok {
		return
	}
	now := time.Now()
	s.expired.mu.Lock()
	if last, seen := s.expired.seen[k.ID]; seen && now.Sub(last) < expiredKeyRecheck {
		s.expired.mu.Unlock()
		return
	}
	if s.expired.seen == nil || len(s.expired.seen) >= maxKeyNetworks {
		s.expired.seen = map[string]time.Time{}
	}
	s.expired.seen[k.ID] = now
	s.expired.mu.Unlock()
	r.RecordAuditRefusal(ctx, AuditEvent{Type: AuditPersonalKeyExpired, Actor: AuditKey(k, user), SubjectUUID: user.UUID,
		Outcome: AuditRefused, Reason: "api_key_expired", Target: AuditTarget{Type: "personal_api_key", ID: k.ID, Label: k.Label}})
}

// recordSecondFactorFailure records a wrong code at the second sign-in
// step through the store's batching writer, when the store has one.
func (s *TwoFactorService) recordSecondFactorFailure(ctx context.Context, u *User) {
	if r, ok := s.Store.(AuditRefusals); ok {
		r.RecordAuditRefusal(ctx, AuditEvent{Type: AuditSecondFactorFailed, Actor: AuditUser(u), SubjectUUID: u.UUID, Outcome: AuditFailure,
			Reason: "2fa_invalid", Target: AuditTarget{Type: "user", ID: u.UUID, Label: u.Email}})
	}
}
