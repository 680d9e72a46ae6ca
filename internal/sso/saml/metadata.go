package saml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxMetadata bounds uploaded IdP metadata.
const MaxMetadata = 1 << 20

// HTTP bindings in metadata.
const (
	bindingRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	bindingPost     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

type metadataEntity struct {
	EntityID string `xml:"entityID,attr"`
	IDP      []struct {
		Protocols string `xml:"protocolSupportEnumeration,attr"`
		Keys      []struct {
			Use   string   `xml:"use,attr"`
			Certs []string `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo>X509Data>X509Certificate"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata KeyDescriptor"`
		SSO []struct {
			Binding  string `xml:"Binding,attr"`
			Location string `xml:"Location,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata SingleSignOnService"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor"`
}

type metadataEntities struct {
	Entities []metadataEntity   `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	Nested   []metadataEntities `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntitiesDescriptor"`
}

func (m *metadataEntities) all() []metadataEntity {
	out := append([]metadataEntity{}, m.Entities...)
	for i := range m.Nested {
		out = append(out, m.Nested[i].all()...)
	}
	return out
}

// ParseMetadata reads an IdP's metadata XML (an EntityDescriptor, or an
// EntitiesDescriptor holding one IdP): its entity id, its single sign-on
// URL for the HTTP-Redirect binding (else HTTP-POST), and its signing
// certificate.
func ParseMetadata(doc []byte) (*IdP, error) {
	if len(doc) > MaxMetadata {
		return nil, fmt.Errorf("the metadata is larger than %d bytes", MaxMetadata)
	}
	root, err := rootElement(doc)
	if err != nil {
		return nil, err
	}
	var entities []metadataEntity
	switch {
	case root.Space == nsMetadata && root.Local == "EntityDescriptor":
		var e metadataEntity
		if err := xml.Unmarshal(doc, &e); err != nil {
			return nil, fmt.Errorf("the metadata could not be read: %v", err)
		}
		entities = []metadataEntity{e}
	case root.Space == nsMetadata && root.Local == "EntitiesDescriptor":
		var es metadataEntities
		if err := xml.Unmarshal(doc, &es); err != nil {
			return nil, fmt.Errorf("the metadata could not be read: %v", err)
		}
		entities = es.all()
	default:
		return nil, errors.New("the document is not SAML metadata (no EntityDescriptor)")
	}
	var idps []*IdP
	for _, e := range entities {
		if idp := idpOf(e); idp != nil {
			idps = append(idps, idp)
		}
	}
	switch len(idps) {
	case 0:
		return nil, errors.New("the metadata describes no identity provider with an SSO URL and a signing certificate")
	case 1:
		return idps[0], nil
	default:
		return nil, errors.New("the metadata describes several identity providers: upload one")
	}
}

func idpOf(e metadataEntity) *IdP {
	idp := &IdP{EntityID: strings.TrimSpace(e.EntityID)}
	var post string
	for _, d := range e.IDP {
		for _, s := range d.SSO {
			switch s.Binding {
			case bindingRedirect:
				if idp.SSOURL == "" {
					idp.SSOURL = strings.TrimSpace(s.Location)
				}
			case bindingPost:
				if post == "" {
					post = strings.TrimSpace(s.Location)
				}
			}
		}
		for _, k := range d.Keys {
			if k.Use != "" && k.Use != "signing" {
				continue
			}
			for _, c := range k.Certs {
				if idp.Certificate == "" {
					if cert, err := ParseCertificate(c); err == nil {
						idp.Certificate = CertificateBase64(cert)
					}
				}
			}
		}
	}
	if idp.SSOURL == "" {
		idp.SSOURL = post
	}
	if idp.EntityID == "" || idp.SSOURL == "" || idp.Certificate == "" {
		return nil
	}
	return idp
}

// rootElement is the document's first element, refusing DTDs.
func rootElement(doc []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if len(bytes.TrimSpace(doc)) == 0 {
				return xml.Name{}, errors.New("the metadata is empty")
			}
			return xml.Name{}, errors.New("the metadata must be the identity provider's metadata XML (or its https:// URL)")
		}
		if err != nil {
			return xml.Name{}, fmt.Errorf("the metadata is not well-formed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return xml.Name{}, errors.New("the metadata must not contain a DTD")
		case xml.StartElement:
			return t.Name, nil
		}
	}
}

// SPOrganization is who runs this service provider, as its metadata
// names it for IdP administrators.
type SPOrganization struct {
	Name         string // the organization (default: SITE_URL's host)
	URL          string // its web address (default: SITE_URL)
	ContactEmail string // technical and support contact; "" for none
}

// SPNameIDFormats are the NameID formats the metadata advertises: ones an
// IdP can fill from a stable identifier (persistent) or the email address.
// The uid comes from an attribute, so the NameID is informative only.
var SPNameIDFormats = []string{
	"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
	"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
}

// SPMetadata is Gatehouse's service-provider metadata for IdP admins
// (docs/posthog-compat.md#saml): entity id SITE_URL, unsigned AuthnRequests, signed assertions
// wanted, the ACS for the HTTP-POST binding, and the instance's own
// organization and contact.
func SPMetadata(entityID, acsURL string, org SPOrganization) []byte {
	type contact struct {
		Type  string `xml:"contactType,attr"`
		Name  string `xml:"md:GivenName"`
		Email string `xml:"md:EmailAddress"`
	}
	type localized struct {
		Lang  string `xml:"xml:lang,attr"`
		Value string `xml:",chardata"`
	}
	type acs struct {
		Binding  string `xml:"Binding,attr"`
		Location string `xml:"Location,attr"`
		Index    int    `xml:"index,attr"`
	}
	doc := struct {
		XMLName  xml.Name `xml:"md:EntityDescriptor"`
		NS       string   `xml:"xmlns:md,attr"`
		EntityID string   `xml:"entityID,attr"`
		SP       struct {
			AuthnRequestsSigned  bool     `xml:"AuthnRequestsSigned,attr"`
			WantAssertionsSigned bool     `xml:"WantAssertionsSigned,attr"`
			Protocols            string   `xml:"protocolSupportEnumeration,attr"`
			NameIDFormats        []string `xml:"md:NameIDFormat"`
			ACS                  acs      `xml:"md:AssertionConsumerService"`
		} `xml:"md:SPSSODescriptor"`
		Organization struct {
			Name        localized `xml:"md:OrganizationName"`
			DisplayName localized `xml:"md:OrganizationDisplayName"`
			URL         localized `xml:"md:OrganizationURL"`
		} `xml:"md:Organization"`
		Contacts []contact `xml:"md:ContactPerson"`
	}{NS: nsMetadata, EntityID: entityID}
	doc.SP.WantAssertionsSigned = true
	doc.SP.Protocols = nsProtocol
	doc.SP.NameIDFormats = SPNameIDFormats
	doc.SP.ACS = acs{Binding: bindingPost, Location: acsURL, Index: 1}
	doc.Organization.Name = localized{"en-US", org.Name}
	doc.Organization.DisplayName = localized{"en-US", org.Name}
	doc.Organization.URL = localized{"en-US", org.URL}
	if org.ContactEmail != "" {
		doc.Contacts = []contact{{"technical", org.Name, org.ContactEmail}, {"support", org.Name, org.ContactEmail}}
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("saml: marshalling SP metadata: " + err.Error())
	}
	return append([]byte(xml.Header), out...)
}
