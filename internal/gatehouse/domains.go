package gatehouse

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
)

// OrganizationDomain is an email domain an organization has claimed
// (docs/posthog-compat.md#organization-domains). Once verified through DNS it can enforce a sign-in method on
// everyone whose email is in it, provision accounts just in time, and
// carry the SAML identity provider for it.
type OrganizationDomain struct {
	ID                     string
	OrganizationID         string
	Domain                 string // lower case
	VerificationChallenge  string
	VerifiedAt             *time.Time
	LastVerificationRetry  *time.Time
	JITProvisioningEnabled bool
	// SSOEnforcement is a backend name (saml, google-oauth2, github,
	// gitlab or a custom provider) or empty for none.
	SSOEnforcement string
	SAMLEntityID   string
	SAMLACSURL     string // the IdP's single sign-on URL
	SAMLX509Cert   string
	CreatedAt      time.Time
}

// IsVerified reports whether the domain passed DNS verification.
func (d *OrganizationDomain) IsVerified() bool { return d.VerifiedAt != nil }

// HasSAML reports whether the domain's SAML identity provider is fully
// configured.
func (d *OrganizationDomain) HasSAML() bool {
	return d.SAMLEntityID != "" && d.SAMLACSURL != "" && d.SAMLX509Cert != ""
}

// DomainChallengeRecord is the DNS name whose TXT record proves control
// of a domain: _posthog-challenge.<domain>.
func DomainChallengeRecord(domain string) string { return "_posthog-challenge." + domain }

// DomainStore is what organization domains need from storage.
type DomainStore interface {
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
	// CreateDomain stores d; ErrConflict when the domain is taken by any
	// organization.
	CreateDomain(ctx context.Context, d *OrganizationDomain) error
	DomainsOfOrganization(ctx context.Context, orgID string) ([]OrganizationDomain, error)
	// DomainByID finds a domain by id; ErrNotFound when there is none.
	DomainByID(ctx context.Context, id string) (*OrganizationDomain, error)
	// DomainByName finds a domain by name, ignoring case.
	DomainByName(ctx context.Context, domain string) (*OrganizationDomain, error)
	// UpdateDomain writes every mutable field of d.
	UpdateDomain(ctx context.Context, d *OrganizationDomain) error
	// DeleteDomain deletes one of the organization's domains and reports
	// whether there was one.
	DeleteDomain(ctx context.Context, orgID, id string) (bool, error)
}

// TXTResolver looks up DNS TXT records. *net.Resolver satisfies it.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// DomainService manages organization domains and answers which sign-in
// method, if any, a domain enforces.
type DomainService struct {
	Store    DomainStore
	Resolver TXTResolver
	// ProviderConfigured reports whether a social login backend is set up
	// on this instance; enforcement of an unconfigured provider is ignored
	// (docs/posthog-compat.md#sso-enforcement) so nobody is locked out. nil: none is.
	ProviderConfigured func(backend string) bool
	Logger             *slog.Logger
	Now                func() time.Time
}

func (s *DomainService) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// domainPattern is PostHog's rule for a domain or subdomain name.
var domainPattern = regexp.MustCompile(`^([a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,}$`)

// KnownSSOBackends are the enforcement values besides custom providers.
var KnownSSOBackends = []string{"saml", "google-oauth2", "github", "gitlab"}

// orgMember resolves orgRef for user: the organization and the user's level
// in it. A user who is not a member gets NotFound.
func orgMember(ctx context.Context, st interface {
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
	OrganizationByID(ctx context.Context, id string) (*Organization, error)
}, user *User, orgRef string) (*Organization, MembershipLevel, error) {
	orgID := orgRef
	if orgRef == CurrentOrganization {
		orgID = user.CurrentOrganizationID
	}
	if orgID == "" {
		return nil, 0, NotFound()
	}
	level, err := membershipLevel(ctx, st, user.ID, orgID)
	if err != nil {
		return nil, 0, err
	}
	if level == 0 {
		return nil, 0, NotFound()
	}
	org, err := st.OrganizationByID(ctx, orgID)
	if errors.Is(err, ErrNotFound) {
		return nil, 0, NotFound()
	}
	if err != nil {
		return nil, 0, err
	}
	return org, level, nil
}

// membershipLevel is the user's level in the organization, 0 when not a
// member.
func membershipLevel(ctx context.Context, st interface {
	MembershipsOfUser(ctx context.Context, userID int64) ([]Membership, error)
}, userID int64, orgID string) (MembershipLevel, error) {
	ms, err := st.MembershipsOfUser(ctx, userID)
	if err != nil {
		return 0, err
	}
	for _, m := range ms {
		if m.OrganizationID == orgID {
			return m.Level, nil
		}
	}
	return 0, nil
}

func (s *DomainService) admin(ctx context.Context, user *User, orgRef string) (*Organization, error) {
	org, level, err := orgMember(ctx, s.Store, user, orgRef)
	if err == nil && level < LevelAdmin {
		err = errNotAdmin()
	}
	if err != nil {
		return nil, err
	}
	return org, nil
}

// List returns the organization's domains to any member.
func (s *DomainService) List(ctx context.Context, user *User, orgRef string) ([]OrganizationDomain, error) {
	org, _, err := orgMember(ctx, s.Store, user, orgRef)
	if err != nil {
		return nil, err
	}
	return s.Store.DomainsOfOrganization(ctx, org.ID)
}

// Get returns one of the organization's domains to any member.
func (s *DomainService) Get(ctx context.Context, user *User, orgRef, id string) (*OrganizationDomain, error) {
	org, _, err := orgMember(ctx, s.Store, user, orgRef)
	if err != nil {
		return nil, err
	}
	return s.domainOf(ctx, org.ID, id)
}

func (s *DomainService) domainOf(ctx context.Context, orgID, id string) (*OrganizationDomain, error) {
	d, err := s.Store.DomainByID(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && d.OrganizationID != orgID) {
		return nil, NotFound()
	}
	return d, err
}

// Create claims a domain for the organization (admins only). It starts
// unverified with a fresh challenge; JIT and enforcement wait for
// verification.
func (s *DomainService) Create(ctx context.Context, user *User, orgRef, domain string) (*OrganizationDomain, error) {
	org, err := s.admin(ctx, user, orgRef)
	if err != nil {
		return nil, err
	}
	domain = strings.TrimSpace(domain)
	if domain == "" {
		return nil, Invalid("required", "domain", "This field is required.")
	}
	if len(domain) > 128 || !domainPattern.MatchString(domain) {
		return nil, Invalid("invalid_input", "domain", "Please enter a valid domain or subdomain name.")
	}
	d := &OrganizationDomain{ID: NewUUID(), OrganizationID: org.ID, Domain: domain, VerificationChallenge: newChallenge(), CreatedAt: s.now()}
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditDomainAdded, OrganizationID: org.ID, Target: domainTarget(d)})
	if err := s.Store.CreateDomain(ctx, d); err != nil {
		if errors.Is(err, ErrConflict) {
			return nil, Invalid("unique", "domain", "domain with this domain already exists.")
		}
		return nil, fmt.Errorf("creating domain: %w", err)
	}
	return d, nil
}

// newChallenge is 32 random bytes, URL-safe base64 (43 characters), as
// Python's secrets.token_urlsafe(32).
func newChallenge() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("gatehouse: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// DomainUpdate is an admin's change to a domain; nil fields stay as they
// are.
type DomainUpdate struct {
	JITProvisioningEnabled *bool
	SSOEnforcement         *string
	SAMLEntityID           *string
	SAMLACSURL             *string
	SAMLX509Cert           *string
}

// Update changes a domain's settings (admins only). JIT provisioning and
// enforcement can only change once the domain is verified.
func (s *DomainService) Update(ctx context.Context, user *User, orgRef, id string, in DomainUpdate) (*OrganizationDomain, error) {
	org, err := s.admin(ctx, user, orgRef)
	if err != nil {
		return nil, err
	}
	d, err := s.domainOf(ctx, org.ID, id)
	if err != nil {
		return nil, err
	}
	before := *d
	changesPolicy := (in.JITProvisioningEnabled != nil && *in.JITProvisioningEnabled != d.JITProvisioningEnabled) ||
		(in.SSOEnforcement != nil && *in.SSOEnforcement != d.SSOEnforcement)
	if changesPolicy && !d.IsVerified() {
		return nil, Invalid("verification_required", "", "This attribute cannot be updated until the domain is verified.")
	}
	if in.SSOEnforcement != nil {
		v := strings.TrimSpace(*in.SSOEnforcement)
		if len(v) > 28 || (v != "" && !s.validBackend(v)) {
			return nil, Invalid("invalid_choice", "sso_enforcement", "\"%s\" is not a valid choice.", v)
		}
		d.SSOEnforcement = v
	}
	if in.JITProvisioningEnabled != nil {
		d.JITProvisioningEnabled = *in.JITProvisioningEnabled
	}
	for _, f := range []struct {
		in   *string
		out  *string
		attr string
		max  int
	}{{in.SAMLEntityID, &d.SAMLEntityID, "saml_entity_id", 512}, {in.SAMLACSURL, &d.SAMLACSURL, "saml_acs_url", 512}, {in.SAMLX509Cert, &d.SAMLX509Cert, "saml_x509_cert", 1 << 16}} {
		if f.in == nil {
			continue
		}
		v := strings.TrimSpace(*f.in)
		if len(v) > f.max {
			return nil, Invalid("max_length", f.attr, "Ensure this field has no more than %d characters.", f.max)
		}
		*f.out = v
	}
	ctx = WithAuditEvents(ctx, domainChangeEvents(&before, d)...)
	if err := s.Store.UpdateDomain(ctx, d); err != nil {
		return nil, fmt.Errorf("updating domain: %w", err)
	}
	return d, nil
}

func (s *DomainService) validBackend(v string) bool {
	for _, b := range KnownSSOBackends {
		if v == b {
			return true
		}
	}
	return s.ProviderConfigured != nil && s.ProviderConfigured(v)
}

// Delete removes one of the organization's domains (admins only).
func (s *DomainService) Delete(ctx context.Context, user *User, orgRef, id string) error {
	org, err := s.admin(ctx, user, orgRef)
	if err != nil {
		return err
	}
	target := AuditTarget{Type: "domain", ID: id}
	if d, err := s.domainOf(ctx, org.ID, id); err == nil {
		target = domainTarget(d)
	}
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditDomainRemoved, OrganizationID: org.ID, Target: target})
	ok, err := s.Store.DeleteDomain(ctx, org.ID, id)
	if err != nil {
		return fmt.Errorf("deleting domain: %w", err)
	}
	if !ok {
		return NotFound()
	}
	return nil
}

// Verify looks up the domain's challenge record in DNS (admins only): a
// TXT answer equal to the challenge verifies the domain; anything else,
// including no record, records the attempt and leaves it unverified.
func (s *DomainService) Verify(ctx context.Context, user *User, orgRef, id string) (*OrganizationDomain, error) {
	org, err := s.admin(ctx, user, orgRef)
	if err != nil {
		return nil, err
	}
	d, err := s.domainOf(ctx, org.ID, id)
	if err != nil {
		return nil, err
	}
	if d.IsVerified() {
		return nil, Invalid("already_verified", "", "This domain has already been verified.")
	}
	return s.attempt(ctx, d)
}

// attempt runs the DNS check (docs/posthog-compat.md#organization-domains) and records its outcome: verified,
// or the time of the failed retry.
func (s *DomainService) attempt(ctx context.Context, d *OrganizationDomain) (*OrganizationDomain, error) {
	now := s.now()
	if s.challengePublished(ctx, d) {
		d.VerifiedAt, d.LastVerificationRetry = &now, nil
		ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditDomainVerified, OrganizationID: d.OrganizationID, Target: domainTarget(d)})
	} else {
		d.LastVerificationRetry = &now
	}
	if err := s.Store.UpdateDomain(ctx, d); err != nil {
		return nil, fmt.Errorf("recording verification: %w", err)
	}
	return d, nil
}

func (s *DomainService) challengePublished(ctx context.Context, d *OrganizationDomain) bool {
	if s.Resolver == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	records, err := s.Resolver.LookupTXT(ctx, DomainChallengeRecord(d.Domain))
	if err != nil {
		return false
	}
	for _, r := range records {
		if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(r)), []byte(d.VerificationChallenge)) == 1 {
			return true
		}
	}
	return false
}

// CheckDNS runs the DNS check for a domain by name, as Verify does, for
// operators (gatehouse domain verify). An already verified domain is
// returned as it is.
func (s *DomainService) CheckDNS(ctx context.Context, domain string) (*OrganizationDomain, error) {
	d, err := s.Store.DomainByName(ctx, strings.ToLower(strings.TrimSpace(domain)))
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	if err != nil || d.IsVerified() {
		return d, err
	}
	return s.attempt(ctx, d)
}

// ForceVerify marks a domain verified without DNS, for operators who
// cannot publish a record (gatehouse domain verify --force).
func (s *DomainService) ForceVerify(ctx context.Context, domain string) (*OrganizationDomain, error) {
	d, err := s.Store.DomainByName(ctx, strings.ToLower(strings.TrimSpace(domain)))
	if errors.Is(err, ErrNotFound) {
		return nil, NotFound()
	}
	if err != nil {
		return nil, err
	}
	if d.IsVerified() {
		return d, nil
	}
	now := s.now()
	d.VerifiedAt, d.LastVerificationRetry = &now, nil
	ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditDomainVerified, OrganizationID: d.OrganizationID, Target: domainTarget(d), Reason: "forced_by_operator"})
	if err := s.Store.UpdateDomain(ctx, d); err != nil {
		return nil, fmt.Errorf("recording verification: %w", err)
	}
	return d, nil
}

// verifiedDomainOf returns the verified domain an email belongs to, or nil.
func (s *DomainService) verifiedDomainOf(ctx context.Context, email string) (*OrganizationDomain, error) {
	_, host, ok := strings.Cut(strings.TrimSpace(email), "@")
	if !ok || host == "" {
		return nil, nil
	}
	d, err := s.Store.DomainByName(ctx, strings.ToLower(host))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("finding email domain: %w", err)
	}
	if !d.IsVerified() {
		return nil, nil
	}
	return d, nil
}

// EnforcedProvider is the sign-in backend every account with this email
// must use, or "" when none is enforced (docs/posthog-compat.md#sso-enforcement). Enforcement of SAML
// without a complete SAML configuration, or of a provider this instance
// has not configured, is ignored with a warning rather than locking
// everyone out.
func (s *DomainService) EnforcedProvider(ctx context.Context, email string) (string, error) {
	d, err := s.verifiedDomainOf(ctx, email)
	if err != nil || d == nil || d.SSOEnforcement == "" {
		return "", err
	}
	usable := d.SSOEnforcement == "saml" && d.HasSAML() ||
		d.SSOEnforcement != "saml" && s.ProviderConfigured != nil && s.ProviderConfigured(d.SSOEnforcement)
	if !usable {
		if s.Logger != nil {
			s.Logger.LogAttrs(ctx, slog.LevelWarn, "sso enforcement ignored: the method is not configured",
				slog.String("domain", d.Domain), slog.String("sso_enforcement", d.SSOEnforcement))
		}
		return "", nil
	}
	return d.SSOEnforcement, nil
}

// SAMLAvailable reports whether the email's verified domain has a SAML
// identity provider configured (docs/posthog-compat.md#sso-enforcement).
func (s *DomainService) SAMLAvailable(ctx context.Context, email string) (bool, error) {
	d, err := s.verifiedDomainOf(ctx, email)
	if err != nil || d == nil {
		return false, err
	}
	return d.HasSAML(), nil
}

// SSOPolicy answers which sign-in method an email's domain enforces.
// *DomainService satisfies it; services that offer passwords consult it.
type SSOPolicy interface {
	EnforcedProvider(ctx context.Context, email string) (string, error)
}

// SSOEnforcedError is the refusal of a password (or other non-enforced)
// sign-in for an email whose domain enforces provider.
func SSOEnforcedError(provider string) *Error {
	return Invalid("sso_enforced", "", "You can only login with SSO for this account (%s).", provider)
}

// checkSSO returns SSOEnforcedError when policy enforces a method on email.
func checkSSO(ctx context.Context, policy SSOPolicy, email string) error {
	if policy == nil {
		return nil
	}
	provider, err := policy.EnforcedProvider(ctx, email)
	if err != nil {
		return err
	}
	if provider != "" {
		return SSOEnforcedError(provider)
	}
	return nil
}

func domainTarget(d *OrganizationDomain) AuditTarget {
	return AuditTarget{Type: "domain", ID: d.ID, Label: d.Domain}
}

// domainChangeEvents records an update: the sign-in policy (SSO
// enforcement, JIT provisioning) and the SAML configuration as separate
// events, each field old → new; a certificate is named by its digest.
func domainChangeEvents(old, d *OrganizationDomain) []AuditEvent {
	var policy, saml []AuditChange
	if old.SSOEnforcement != d.SSOEnforcement {
		policy = append(policy, AuditChange{Field: "sso_enforcement", Old: old.SSOEnforcement, New: d.SSOEnforcement})
	}
	if old.JITProvisioningEnabled != d.JITProvisioningEnabled {
		policy = append(policy, AuditChange{Field: "jit_provisioning_enabled", Old: old.JITProvisioningEnabled, New: d.JITProvisioningEnabled})
	}
	if old.SAMLEntityID != d.SAMLEntityID {
		saml = append(saml, AuditChange{Field: "saml_entity_id", Old: old.SAMLEntityID, New: d.SAMLEntityID})
	}
	if old.SAMLACSURL != d.SAMLACSURL {
		saml = append(saml, AuditChange{Field: "saml_acs_url", Old: old.SAMLACSURL, New: d.SAMLACSURL})
	}
	if old.SAMLX509Cert != d.SAMLX509Cert {
		saml = append(saml, AuditChange{Field: "saml_x509_cert", Old: certDigest(old.SAMLX509Cert), New: certDigest(d.SAMLX509Cert)})
	}
	var out []AuditEvent
	if len(policy) > 0 {
		out = append(out, AuditEvent{Type: AuditDomainChanged, OrganizationID: d.OrganizationID, Target: domainTarget(d), Changes: policy})
	}
	if len(saml) > 0 {
		out = append(out, AuditEvent{Type: AuditSAMLConfigChanged, OrganizationID: d.OrganizationID, Target: domainTarget(d), Changes: saml})
	}
	return out
}

// certDigest names a certificate in the audit log: "sha256:" and the
// first 16 hex digits of its text's digest; "" for none.
func certDigest(pem string) string {
	if pem == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(pem))
	return "sha256:" + hex.EncodeToString(sum[:8])
}
