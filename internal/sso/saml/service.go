package saml

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
)

// PurposeRequest is the key purpose that seals the pending-request cookie.
const PurposeRequest secretkey.Purpose = "saml-request"

// RequestTTL is how long a browser has to come back from the IdP.
const RequestTTL = 10 * time.Minute

// ACSPath is the assertion consumer service's path (docs/posthog-compat.md#saml).
const ACSPath = "/complete/saml/"

// Service runs SAML logins for every organization domain: it starts them
// (AuthnRequest), consumes the IdP's responses and answers what the IdP
// asserted about the user. Signing the user in is the SSO pipeline's job.
type Service struct {
	Admin *gatehouse.SAMLAdmin
	Store gatehouse.SAMLStore
	// SiteURL is SITE_URL: the SP entity id and the base of the ACS URL.
	SiteURL *url.URL
	// Key seals the pending-request cookie (Keyring.For(PurposeRequest)).
	Key    *secretkey.Key
	Logger *slog.Logger
	Now    func() time.Time
	// Skew is the clock difference tolerated; 0 means DefaultSkew.
	Skew time.Duration
	// Organization names the instance in the SP metadata; an empty Name
	// is SITE_URL's host, an empty URL SITE_URL.
	Organization SPOrganization
	// AllowPlainMetadataURL (DEBUG) lets a metadata URL be http and on a
	// private or loopback address.
	AllowPlainMetadataURL bool
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

// EntityID is the SP entity id: SITE_URL without a trailing slash.
func (s *Service) EntityID() string { return strings.TrimSuffix(s.SiteURL.String(), "/") }

// ACSURL is the absolute URL of the assertion consumer service.
func (s *Service) ACSURL() string { return s.EntityID() + ACSPath }

// Metadata is the SP metadata XML for IdP administrators.
func (s *Service) Metadata() []byte {
	org := s.Organization
	if org.Name == "" {
		org.Name = s.SiteURL.Hostname()
	}
	if org.URL == "" {
		org.URL = s.EntityID() + "/"
	}
	return SPMetadata(s.EntityID(), s.ACSURL(), org)
}

// sp builds the service provider facing d's IdP.
func (s *Service) sp(d *gatehouse.OrganizationDomain) (*SP, error) {
	sp, err := NewSP(s.EntityID(), s.ACSURL(), IdP{EntityID: d.SAMLEntityID, SSOURL: d.SAMLACSURL, Certificate: d.SAMLX509Cert})
	if err != nil {
		return nil, err
	}
	sp.Skew = s.Skew
	return sp, nil
}

// pendingRequest is what the browser carries between the AuthnRequest and
// the response, sealed: the request ID and the domain it went to.
type pendingRequest struct {
	ID       string `json:"i"`
	DomainID string `json:"d"`
	Expires  int64  `json:"e"`
}

var requestAD = []byte("gatehouse saml pending request")

// Begin starts an SP-initiated login for email (docs/posthog-compat.md#saml): the IdP URL to
// redirect to (HTTP-Redirect binding, RelayState = the domain id) and the
// sealed pending request for the browser's cookie.
func (s *Service) Begin(ctx context.Context, email string) (redirect, pending string, err error) {
	d, err := s.Admin.SAMLDomainForLogin(ctx, email)
	if err != nil {
		return "", "", err
	}
	sp, err := s.sp(d)
	if err != nil {
		e := gatehouse.Invalid("saml_not_configured", "", "SAML not configured for this user.")
		e.Err = refusal(d, err)
		return "", "", e
	}
	now := s.now()
	redirect, id, err := sp.AuthnRequestURL(d.ID, now)
	if err != nil {
		return "", "", err
	}
	b, _ := json.Marshal(pendingRequest{ID: id, DomainID: d.ID, Expires: now.Add(RequestTTL).Unix()})
	return redirect, base64.RawURLEncoding.EncodeToString(s.Key.Seal(b, requestAD)), nil
}

// openPending returns the request ID a sealed cookie holds for domainID,
// or "" when it holds none (absent, forged, expired or another domain's).
func (s *Service) openPending(pending, domainID string) string {
	if pending == "" || len(pending) > 1024 {
		return ""
	}
	sealed, err := base64.RawURLEncoding.DecodeString(pending)
	if err != nil {
		return ""
	}
	b, _, err := s.Key.Open(sealed, requestAD)
	if err != nil {
		return ""
	}
	var p pendingRequest
	if json.Unmarshal(b, &p) != nil || p.DomainID != domainID || s.now().Unix() >= p.Expires {
		return ""
	}
	return p.ID
}

// Identity is what a domain's IdP asserted about a user, attributes
// already mapped (docs/posthog-compat.md#saml).
type Identity struct {
	DomainID       string
	OrganizationID string
	// UID is "<domain id>:<uid attribute>", the stable link key.
	UID                           string
	Email                         string
	FirstName, LastName, FullName string
}

// errInvalidResponse is what the user sees for any refused response; the
// reason, which the ACS logs, is its Err.
func errInvalidResponse(d *gatehouse.OrganizationDomain, reason error) *gatehouse.Error {
	e := gatehouse.Invalid("saml_invalid_response", "", "The SAML response from your identity provider could not be accepted. Please try again.")
	e.Err = refusal(d, reason)
	return e
}

// refusal names the domain whose IdP a refusal concerns.
func refusal(d *gatehouse.OrganizationDomain, reason error) error {
	return fmt.Errorf("domain %s (%s): %w", d.Domain, d.ID, reason)
}

// Complete consumes a response posted to the ACS. relayState names the
// domain; pending is the browser's sealed request cookie ("" when none).
// The response must be valid for that domain's IdP, answer this browser's
// request (or be IdP-initiated on a domain that allows it), and not have
// been used before on any instance.
func (s *Service) Complete(ctx context.Context, relayState, samlResponse, pending string) (*Identity, error) {
	d, err := s.Admin.SAMLDomainForResponse(ctx, relayState)
	if err != nil {
		return nil, err
	}
	opts, err := s.Store.SAMLOptions(ctx, d.ID)
	if err != nil {
		return nil, fmt.Errorf("saml: domain options: %w", err)
	}
	requestID := s.openPending(pending, d.ID)
	if requestID == "" && !opts.AllowIdPInitiated {
		e := gatehouse.Invalid("saml_idp_initiated", "", "Logins started at the identity provider are not allowed for this domain. Start the login here.")
		e.Err = refusal(d, errors.New("no pending request cookie came with the response (an IdP-initiated login, or a browser on another host than SITE_URL's) and the domain does not allow IdP-initiated logins"))
		return nil, e
	}
	sp, err := s.sp(d)
	if err != nil {
		return nil, errInvalidResponse(d, err)
	}
	now := s.now()
	a, err := sp.ParseResponse(samlResponse, requestID, now)
	if err != nil {
		return nil, errInvalidResponse(d, err)
	}
	fresh, err := s.Store.UseSAMLAssertionID(ctx, d.ID, a.ID, a.ValidUntil, now)
	if err != nil {
		return nil, err
	}
	if !fresh {
		return nil, errInvalidResponse(d, errors.New("a replayed assertion"))
	}
	id := &Identity{DomainID: d.ID, OrganizationID: d.OrganizationID}
	uid := first(a.Attributes, opts.SAMLAttributeNames("uid"))
	id.Email = strings.ToLower(first(a.Attributes, opts.SAMLAttributeNames("email")))
	id.FirstName = first(a.Attributes, opts.SAMLAttributeNames("first_name"))
	id.LastName = first(a.Attributes, opts.SAMLAttributeNames("last_name"))
	id.FullName = first(a.Attributes, opts.SAMLAttributeNames("full_name"))
	if uid == "" {
		return nil, missingAttribute(d, a.Attributes, "uid", opts.SAMLAttributeNames("uid"))
	}
	if id.Email == "" {
		return nil, missingAttribute(d, a.Attributes, "email", opts.SAMLAttributeNames("email"))
	}
	id.UID = d.ID + ":" + uid
	ok, err := s.Admin.EmailInOrganizationDomains(ctx, d.OrganizationID, id.Email)
	if err != nil {
		return nil, err
	}
	if !ok {
		e := gatehouse.Invalid("saml_email_domain", "email", "Your identity provider asserted an email address outside your organization's verified domains.")
		e.Err = refusal(d, fmt.Errorf("the IdP asserted the email %s, outside the organization's verified domains", id.Email))
		return nil, e
	}
	return id, nil
}

// first is the first value of the first present attribute among names.
func first(attrs map[string][]string, names []string) string {
	for _, n := range names {
		for _, v := range attrs[n] {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return ""
}

// missingAttribute is the refusal of an assertion without a required
// field; its reason names the attribute names tried and those the
// assertion had (names only: values are not logged).
func missingAttribute(d *gatehouse.OrganizationDomain, attrs map[string][]string, field string, tried []string) error {
	have := make([]string, 0, len(attrs))
	for n := range attrs {
		have = append(have, n)
	}
	sort.Strings(have)
	e := gatehouse.Invalid("required", field, "This field is required and was not provided by the IdP.")
	e.Err = refusal(d, fmt.Errorf("the assertion has no %s attribute: none of %s is present (it has %s); send one of them or map %s in the domain's SAML options",
		field, strings.Join(tried, ", "), strings.Join(have, ", "), field))
	return e
}

// ConfigureFromMetadata sets a domain's IdP from uploaded metadata XML
// (admins only) and returns the updated domain.
// The upload may be the metadata's URL instead, fetched once (see
// FetchMetadata); only an admin of the organization may make it fetch.
func (s *Service) ConfigureFromMetadata(ctx context.Context, user *gatehouse.User, orgRef, domainID string, metadata []byte) (*gatehouse.OrganizationDomain, error) {
	if u := metadataURL(metadata); u != nil {
		if _, err := s.Admin.RequireAdmin(ctx, user, orgRef); err != nil {
			return nil, err
		}
		fetched, err := FetchMetadata(ctx, u, s.AllowPlainMetadataURL)
		if err != nil {
			return nil, gatehouse.Invalid("invalid_metadata", "saml_metadata", "%s", err.Error())
		}
		metadata = fetched
	}
	idp, err := ParseMetadata(metadata)
	if err != nil {
		return nil, gatehouse.Invalid("invalid_metadata", "saml_metadata", "%s", err.Error())
	}
	return s.Admin.Domains.Update(ctx, user, orgRef, domainID, gatehouse.DomainUpdate{
		SAMLEntityID: &idp.EntityID, SAMLACSURL: &idp.SSOURL, SAMLX509Cert: &idp.Certificate})
}

// CheckIdPFields validates IdP settings typed in by an admin: the SSO URL
// must be http(s) and the certificate must parse. Empty values clear.
func CheckIdPFields(ssoURL, cert *string) error {
	if ssoURL != nil && strings.TrimSpace(*ssoURL) != "" {
		u, err := url.Parse(strings.TrimSpace(*ssoURL))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return gatehouse.Invalid("invalid_input", "saml_acs_url", "Enter the identity provider's http(s) single sign-on URL.")
		}
	}
	if cert != nil && strings.TrimSpace(*cert) != "" {
		if _, err := ParseCertificate(*cert); err != nil {
			return gatehouse.Invalid("invalid_input", "saml_x509_cert", "The certificate could not be read: paste it as PEM or base64.")
		}
	}
	return nil
}
