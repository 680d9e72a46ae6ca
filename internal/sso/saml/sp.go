// Package saml is Gatehouse's SAML 2.0 service provider: one per
// organization domain, built from the domain's identity-provider settings
// (docs/posthog-compat.md#saml). Signatures and the response structure are checked by
// github.com/russellhaering/gosaml2 and goxmldsig; this package adds what
// they leave to the caller: exactly one assertion in the whole document,
// required audience, time conditions with a small skew, InResponseTo,
// bounded decompression and no DTDs.
package saml

import (
	"bytes"
	"compress/flate"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	saml2 "github.com/russellhaering/gosaml2"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"
)

// Limits on what the ACS reads.
const (
	// MaxEncodedResponse bounds the base64 SAMLResponse parameter.
	MaxEncodedResponse = 1 << 20
	// MaxResponseXML bounds the XML a response decodes or inflates to, so
	// a DEFLATE bomb stops after this many bytes.
	MaxResponseXML = 1 << 20
	// DefaultSkew is the clock difference tolerated in time conditions.
	DefaultSkew = 2 * time.Minute
)

// Namespaces of SAML 2.0.
const (
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
)

// IdP is an identity provider as a domain stores it: entity id, single
// sign-on URL and signing certificate.
type IdP struct {
	EntityID    string
	SSOURL      string
	Certificate string // base64 DER, as in metadata (PEM armour is accepted)
}

// ParseCertificate reads an IdP certificate given as PEM or as the bare
// base64 of its DER (as metadata and PostHog's saml_x509_cert hold it).
func ParseCertificate(s string) (*x509.Certificate, error) {
	s = strings.TrimSpace(s)
	if block, _ := pem.Decode([]byte(s)); block != nil {
		return x509.ParseCertificate(block.Bytes)
	}
	der, err := base64.StdEncoding.DecodeString(stripSpace(s))
	if err != nil {
		return nil, errors.New("the certificate is neither PEM nor base64")
	}
	return x509.ParseCertificate(der)
}

// CertificateBase64 is a certificate as metadata carries it: base64 DER
// without armour or line breaks.
func CertificateBase64(c *x509.Certificate) string { return base64.StdEncoding.EncodeToString(c.Raw) }

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// SP is the service provider of one domain: Gatehouse (entity id
// SITE_URL, ACS SITE_URL/complete/saml/) facing that domain's IdP.
type SP struct {
	EntityID string
	ACSURL   string
	IdP      IdP
	// Skew is the clock difference tolerated; 0 means DefaultSkew.
	Skew time.Duration
	cert *x509.Certificate
}

// NewSP checks the IdP settings and builds the service provider.
func NewSP(entityID, acsURL string, idp IdP) (*SP, error) {
	if idp.EntityID == "" || idp.SSOURL == "" || idp.Certificate == "" {
		return nil, errors.New("saml: the identity provider is not fully configured")
	}
	if u, err := url.Parse(idp.SSOURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("saml: the identity provider's SSO URL is not an http(s) URL")
	}
	cert, err := ParseCertificate(idp.Certificate)
	if err != nil {
		return nil, fmt.Errorf("saml: the identity provider's certificate: %w", err)
	}
	return &SP{EntityID: entityID, ACSURL: acsURL, IdP: idp, cert: cert}, nil
}

func (sp *SP) skew() time.Duration {
	if sp.Skew > 0 {
		return sp.Skew
	}
	return DefaultSkew
}

// library returns gosaml2's service provider for one operation at now.
// Its clock runs skew behind, so the expiry checks it makes itself
// (subject confirmation, certificate validity) tolerate the skew.
func (sp *SP) library(now time.Time) *saml2.SAMLServiceProvider {
	return &saml2.SAMLServiceProvider{
		IdentityProviderSSOURL:      sp.IdP.SSOURL,
		IdentityProviderSSOBinding:  saml2.BindingHttpRedirect,
		IdentityProviderIssuer:      sp.IdP.EntityID,
		AssertionConsumerServiceURL: sp.ACSURL,
		ServiceProviderIssuer:       sp.EntityID,
		AudienceURI:                 sp.EntityID,
		IDPCertificateStore:         &dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{sp.cert}},
		Clock:                       dsig.NewFakeClockAt(now.Add(-sp.skew())),
		MaximumDecompressedBodySize: MaxResponseXML,
		AllowMissingAttributes:      true,
	}
}

// AuthnRequestURL is the IdP URL that starts an SP-initiated login with
// the HTTP-Redirect binding, and the request's ID, which the response must
// answer (InResponseTo).
func (sp *SP) AuthnRequestURL(relayState string, now time.Time) (redirect, requestID string, err error) {
	lib := sp.library(now.Add(sp.skew())) // IssueInstant: now
	doc, err := lib.BuildAuthRequestDocumentNoSig()
	if err != nil {
		return "", "", fmt.Errorf("saml: building the AuthnRequest: %w", err)
	}
	requestID = doc.Root().SelectAttrValue("ID", "")
	redirect, err = lib.BuildAuthURLRedirect(relayState, doc)
	if err != nil {
		return "", "", fmt.Errorf("saml: encoding the AuthnRequest: %w", err)
	}
	return redirect, requestID, nil
}

// Assertion is what a valid response asserted.
type Assertion struct {
	ID     string
	Issuer string
	// NameID is the subject's SAML NameID, if any (not used as the uid,
	// docs/posthog-compat.md#saml).
	NameID string
	// Attributes are the attribute statement's values by attribute name.
	Attributes map[string][]string
	// InResponseTo is the AuthnRequest the response answers, "" for an
	// IdP-initiated login.
	InResponseTo string
	// ValidUntil is when the assertion stops being acceptable (skew
	// included): the replay cache keeps its ID until then.
	ValidUntil time.Time
}

// ResponseError is a response refused, with the reason for the log; the
// user sees a generic message.
type ResponseError struct{ Reason string }

func (e *ResponseError) Error() string { return "saml: invalid response: " + e.Reason }

func refuse(format string, args ...any) error {
	return &ResponseError{Reason: fmt.Sprintf(format, args...)}
}

// DecodeResponse turns the SAMLResponse parameter into XML: base64 (line
// breaks allowed), then raw DEFLATE when it is not XML already (the
// redirect binding), never past MaxResponseXML.
func DecodeResponse(encoded string) ([]byte, error) {
	if len(encoded) > MaxEncodedResponse {
		return nil, refuse("the encoded response is larger than %d bytes", MaxEncodedResponse)
	}
	raw, err := base64.StdEncoding.DecodeString(stripSpace(encoded))
	if err != nil {
		return nil, refuse("the response is not base64")
	}
	if t := bytes.TrimLeft(raw, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '<' {
		if len(raw) > MaxResponseXML {
			return nil, refuse("the response is larger than %d bytes", MaxResponseXML)
		}
		return raw, nil
	}
	inflated, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), MaxResponseXML+1))
	if err != nil {
		return nil, refuse("the response is neither XML nor DEFLATE")
	}
	if len(inflated) > MaxResponseXML {
		return nil, refuse("the response inflates past %d bytes", MaxResponseXML)
	}
	return inflated, nil
}

// checkShape scans the document before any signature work: well-formed,
// no DTD, a protocol Response at the root, and exactly one Assertion (no
// EncryptedAssertion) anywhere in it. Wrapping attacks need a second
// assertion somewhere; there is none to find.
func checkShape(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	depth, assertions, root := 0, 0, true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return refuse("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return refuse("the response has a DTD")
		case xml.EndElement:
			depth--
		case xml.StartElement:
			depth++
			if depth > 64 {
				return refuse("the response nests too deeply")
			}
			if root {
				if t.Name.Space != nsProtocol || t.Name.Local != "Response" {
					return refuse("the root element is not a SAML Response")
				}
				root = false
			}
			if t.Name.Space == nsAssertion && t.Name.Local == "EncryptedAssertion" {
				return refuse("encrypted assertions are not supported")
			}
			if t.Name.Space == nsAssertion && t.Name.Local == "Assertion" {
				assertions++
			}
		}
	}
	if root {
		return refuse("the response is empty")
	}
	if assertions != 1 {
		return refuse("the response has %d assertions, want exactly 1", assertions)
	}
	return nil
}

// ParseResponse validates a SAMLResponse for this domain at now and
// returns its assertion. inResponseTo is the ID of the AuthnRequest this
// browser sent, or "" when it sent none (an IdP-initiated login, which
// the caller allows or not): the response must answer exactly that.
func (sp *SP) ParseResponse(encoded, inResponseTo string, now time.Time) (*Assertion, error) {
	doc, err := DecodeResponse(encoded)
	if err != nil {
		return nil, err
	}
	if err := checkShape(doc); err != nil {
		return nil, err
	}
	resp, err := sp.library(now).ValidateEncodedResponse(base64.StdEncoding.EncodeToString(doc))
	if err != nil {
		return nil, refuse("%v", err)
	}
	if len(resp.Assertions) != 1 {
		return nil, refuse("%d verified assertions, want exactly 1", len(resp.Assertions))
	}
	a := &resp.Assertions[0]
	if !resp.SignatureValidated && !a.SignatureValidated {
		return nil, refuse("neither the response nor the assertion is signed")
	}
	if a.ID == "" {
		return nil, refuse("the assertion has no ID")
	}
	if a.Issuer == nil || a.Issuer.Value != sp.IdP.EntityID {
		return nil, refuse("the assertion's issuer is not the domain's IdP")
	}
	if resp.SignatureValidated && resp.Destination != sp.ACSURL {
		return nil, refuse("a signed response must name this ACS as its Destination")
	}
	skew := sp.skew()
	validUntil, err := sp.checkConditions(a, now, skew)
	if err != nil {
		return nil, err
	}
	scd := a.Subject.SubjectConfirmation.SubjectConfirmationData // gosaml2 required them
	if scd.InResponseTo != inResponseTo || (resp.InResponseTo != "" && resp.InResponseTo != inResponseTo) {
		if inResponseTo == "" {
			return nil, refuse("the response answers a request this browser did not send")
		}
		return nil, refuse("the response does not answer this browser's request")
	}
	if noa, err := time.Parse(time.RFC3339, scd.NotOnOrAfter); err == nil && noa.Add(skew).After(validUntil) {
		validUntil = noa.Add(skew)
	}
	out := &Assertion{ID: a.ID, Issuer: a.Issuer.Value, InResponseTo: inResponseTo, ValidUntil: validUntil, Attributes: map[string][]string{}}
	if a.Subject.NameID != nil {
		out.NameID = strings.TrimSpace(a.Subject.NameID.Value)
	}
	if a.AttributeStatement != nil {
		for _, attr := range a.AttributeStatement.Attributes {
			for _, v := range attr.Values {
				value := strings.TrimSpace(v.Value)
				if v.NameID != nil {
					value = strings.TrimSpace(v.NameID.Value)
				}
				out.Attributes[attr.Name] = append(out.Attributes[attr.Name], value)
			}
		}
	}
	return out, nil
}

// checkConditions enforces the assertion's Conditions: present, inside
// NotBefore/NotOnOrAfter give or take skew, and restricted to this SP's
// audience. It returns when the assertion stops being acceptable.
func (sp *SP) checkConditions(a *types.Assertion, now time.Time, skew time.Duration) (time.Time, error) {
	c := a.Conditions
	if c == nil {
		return time.Time{}, refuse("the assertion has no Conditions")
	}
	if c.NotBefore != "" {
		nb, err := time.Parse(time.RFC3339, c.NotBefore)
		if err != nil {
			return time.Time{}, refuse("unreadable NotBefore")
		}
		if now.Add(skew).Before(nb) {
			return time.Time{}, refuse("the assertion is not valid yet")
		}
	}
	if c.NotOnOrAfter == "" {
		return time.Time{}, refuse("the assertion has no NotOnOrAfter")
	}
	noa, err := time.Parse(time.RFC3339, c.NotOnOrAfter)
	if err != nil {
		return time.Time{}, refuse("unreadable NotOnOrAfter")
	}
	if !now.Add(-skew).Before(noa) {
		return time.Time{}, refuse("the assertion has expired")
	}
	if len(c.AudienceRestrictions) == 0 {
		return time.Time{}, refuse("the assertion has no audience restriction")
	}
	for _, ar := range c.AudienceRestrictions {
		ok := false
		for _, aud := range ar.Audiences {
			ok = ok || strings.TrimSpace(aud.Value) == sp.EntityID
		}
		if !ok {
			return time.Time{}, refuse("the assertion is for another audience")
		}
	}
	return noa.Add(skew), nil
}
