package gatehouse

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// SAMLOptions are a domain's SAML settings beyond PostHog's three IdP
// fields (docs/posthog-compat.md#organization-domains): whether the IdP may start logins on its own, and which
// attribute names carry each user field.
type SAMLOptions struct {
	// AllowIdPInitiated accepts responses that answer no AuthnRequest of
	// ours (IdP-initiated logins). Off by default: such responses cannot
	// be tied to the browser that presents them.
	AllowIdPInitiated bool
	// AttributeMapping lists, per field (SAMLAttributeFields), attribute
	// names tried before the defaults of docs/posthog-compat.md#saml.
	AttributeMapping map[string][]string
}

// SAMLAttributeFields are the user fields an assertion's attributes map
// to: uid and email are required, the names optional.
var SAMLAttributeFields = []string{"uid", "email", "first_name", "last_name", "full_name"}

// DefaultSAMLAttributes are the attribute names of docs/posthog-compat.md#saml per field, tried in
// order; the first present one wins.
var DefaultSAMLAttributes = map[string][]string{
	"uid":        {"name_id", "NAME_ID", "nameId", "urn:oid:0.9.2342.19200300.100.1.1"},
	"email":      {"email", "EMAIL", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress", "urn:oid:0.9.2342.19200300.100.1.3"},
	"first_name": {"first_name", "FIRST_NAME", "firstName", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname", "urn:oid:2.5.4.42"},
	"last_name":  {"last_name", "LAST_NAME", "lastName", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname", "urn:oid:2.5.4.4"},
	"full_name":  {"full_name", "FULL_NAME", "fullName", "urn:oid:2.5.4.3"},
}

// SAMLAttributeNames is the order in which names are tried for field:
// the domain's overrides, then the defaults.
func (o SAMLOptions) SAMLAttributeNames(field string) []string {
	out := append([]string{}, o.AttributeMapping[field]...)
	return append(out, DefaultSAMLAttributes[field]...)
}

// validateAttributeMapping checks an admin's overrides: known fields, at
// most 10 non-empty names of at most 256 characters each.
func validateAttributeMapping(m map[string][]string) (map[string][]string, error) {
	out := map[string][]string{}
	for field, names := range m {
		known := false
		for _, f := range SAMLAttributeFields {
			known = known || f == field
		}
		if !known {
			return nil, Invalid("invalid_input", "saml_attribute_mapping", "Unknown field %q: use %s.", field, strings.Join(SAMLAttributeFields, ", "))
		}
		if len(names) > 10 {
			return nil, Invalid("invalid_input", "saml_attribute_mapping", "At most 10 attribute names per field.")
		}
		var clean []string
		for _, n := range names {
			n = strings.TrimSpace(n)
			if n == "" || len(n) > 256 {
				return nil, Invalid("invalid_input", "saml_attribute_mapping", "Attribute names must be 1 to 256 characters.")
			}
			clean = append(clean, n)
		}
		if len(clean) > 0 {
			out[field] = clean
		}
	}
	return out, nil
}

// SAMLStore is what SAML needs from storage beyond domains.
type SAMLStore interface {
	// SAMLOptions returns a domain's options; ErrNotFound when there is
	// no such domain.
	SAMLOptions(ctx context.Context, domainID string) (*SAMLOptions, error)
	// UpdateSAMLOptions writes a domain's options.
	UpdateSAMLOptions(ctx context.Context, domainID string, o *SAMLOptions) error
	// UseSAMLAssertionID records an assertion as consumed until expires
	// and reports whether it was new; false means a replay. Records past
	// their expiry are deleted on the way.
	UseSAMLAssertionID(ctx context.Context, domainID, assertionID string, expires, now time.Time) (bool, error)
}

// SAMLAdmin lets organization admins configure their domains' SAML
// identity providers. Permission checks are DomainService's.
type SAMLAdmin struct {
	Domains *DomainService
	Store   SAMLStore
}

// SAMLOptionsUpdate is an admin's change to a domain's SAML options; nil
// fields stay as they are.
type SAMLOptionsUpdate struct {
	AllowIdPInitiated *bool
	AttributeMapping  map[string][]string // non-nil replaces the overrides
}

// Options returns a domain's SAML options to any member of its
// organization.
func (s *SAMLAdmin) Options(ctx context.Context, user *User, orgRef, id string) (*SAMLOptions, error) {
	d, err := s.Domains.Get(ctx, user, orgRef, id)
	if err != nil {
		return nil, err
	}
	return s.Store.SAMLOptions(ctx, d.ID)
}

// UpdateOptions changes a domain's SAML options (admins only).
func (s *SAMLAdmin) UpdateOptions(ctx context.Context, user *User, orgRef, id string, in SAMLOptionsUpdate) (*SAMLOptions, error) {
	org, err := s.Domains.admin(ctx, user, orgRef)
	if err != nil {
		return nil, err
	}
	d, err := s.Domains.domainOf(ctx, org.ID, id)
	if err != nil {
		return nil, err
	}
	o, err := s.Store.SAMLOptions(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	before := *o
	if in.AllowIdPInitiated != nil {
		o.AllowIdPInitiated = *in.AllowIdPInitiated
	}
	if in.AttributeMapping != nil {
		m, err := validateAttributeMapping(in.AttributeMapping)
		if err != nil {
			return nil, err
		}
		o.AttributeMapping = m
	}
	if before.AllowIdPInitiated != o.AllowIdPInitiated || !maps.EqualFunc(before.AttributeMapping, o.AttributeMapping, func(a, b []string) bool { return slices.Equal(a, b) }) {
		ctx = WithAuditEvents(ctx, AuditEvent{Type: AuditSAMLOptionsChanged, OrganizationID: org.ID, Target: domainTarget(d),
			Changes: []AuditChange{{Field: "allow_idp_initiated", Old: before.AllowIdPInitiated, New: o.AllowIdPInitiated},
				{Field: "attribute_mapping", Old: before.AttributeMapping, New: o.AttributeMapping}}})
	}
	if err := s.Store.UpdateSAMLOptions(ctx, d.ID, o); err != nil {
		return nil, fmt.Errorf("updating SAML options: %w", err)
	}
	return o, nil
}

// RequireAdmin answers whether user administers the organization (the SP
// metadata is for admins and owners only, docs/posthog-compat.md#saml).
func (s *SAMLAdmin) RequireAdmin(ctx context.Context, user *User, orgRef string) (*Organization, error) {
	denied := &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: "You need to be an administrator or owner to access this resource."}
	org, level, err := orgMember(ctx, s.Domains.Store, user, orgRef)
	if e, ok := AsError(err); ok && e.Kind == KindNotFound {
		return nil, denied
	}
	if err != nil {
		return nil, err
	}
	if level < LevelAdmin {
		return nil, denied
	}
	return org, nil
}

// SAMLDomainForLogin is the verified domain with a complete SAML
// configuration that an email belongs to (the start of an SP-initiated
// login, docs/posthog-compat.md#saml), or an error with PostHog's message.
func (s *SAMLAdmin) SAMLDomainForLogin(ctx context.Context, email string) (*OrganizationDomain, error) {
	if strings.TrimSpace(email) == "" {
		return nil, Invalid("missing_email", "email", "Missing 'email' parameter.")
	}
	d, err := s.Domains.verifiedDomainOf(ctx, email)
	if err != nil {
		return nil, err
	}
	if d == nil || !d.HasSAML() {
		return nil, Invalid("saml_not_configured", "", "SAML not configured for this user.")
	}
	return d, nil
}

// SAMLDomainForResponse is the domain a RelayState names, which must be
// verified and have SAML configured.
func (s *SAMLAdmin) SAMLDomainForResponse(ctx context.Context, relayState string) (*OrganizationDomain, error) {
	invalid := func(reason string) error {
		e := Invalid("invalid_relay_state", "", "Authentication request is invalid. Invalid RelayState.")
		e.Err = errors.New(reason)
		return e
	}
	if relayState == "" || len(relayState) > 64 {
		return nil, invalid("the response carries no usable RelayState: an IdP-initiated login must send the organization domain's id as RelayState")
	}
	d, err := s.Domains.Store.DomainByID(ctx, relayState)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid("the RelayState names no organization domain")
	}
	if err != nil {
		return nil, err
	}
	if !d.IsVerified() || !d.HasSAML() {
		return nil, invalid("the RelayState names the domain " + d.Domain + ", which is not verified or has no complete SAML configuration")
	}
	return d, nil
}

// EmailInOrganizationDomains reports whether email's domain is one of the
// organization's verified domains. A SAML IdP speaks only for its own
// organization's domains: an assertion of any other address must not
// reach an account by email.
func (s *SAMLAdmin) EmailInOrganizationDomains(ctx context.Context, orgID, email string) (bool, error) {
	d, err := s.Domains.verifiedDomainOf(ctx, email)
	if err != nil || d == nil {
		return false, err
	}
	return d.OrganizationID == orgID, nil
}
