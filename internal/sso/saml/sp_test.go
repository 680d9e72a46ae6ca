package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/gatehouse-auth/gatehouse/internal/sso/saml/samltest"
)

const (
	testEntity = "https://gatehouse.example.com"
	testACS    = "https://gatehouse.example.com/complete/saml/"
	testIdPID  = "https://idp.acme.example/metadata"
)

func newTestSP(t testing.TB, idp *samltest.IdP) *SP {
	t.Helper()
	sp, err := NewSP(testEntity, testACS, IdP{EntityID: testIdPID, SSOURL: "https://idp.acme.example/sso", Certificate: idp.CertBase64()})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func good(now time.Time) samltest.Response {
	return samltest.Response{Audience: testEntity, Destination: testACS, InResponseTo: "_req1", Now: now,
		Attributes: map[string]string{"email": "ada@acme.example", "name_id": "u-1", "first_name": "Ada"}}
}

func TestParseResponseAcceptsSignedAssertionOrResponse(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0)
	sp := newTestSP(t, idp)
	now := time.Now()
	for _, signResponse := range []bool{false, true} {
		r := good(now)
		r.SignResponse = signResponse
		a, err := sp.ParseResponse(idp.Build(r), "_req1", now)
		if err != nil {
			t.Fatalf("signResponse=%v: %v", signResponse, err)
		}
		if a.Attributes["email"][0] != "ada@acme.example" || a.Attributes["name_id"][0] != "u-1" || a.ID == "" || a.Issuer != testIdPID {
			t.Fatalf("assertion: %+v", a)
		}
		if !a.ValidUntil.After(now) {
			t.Fatalf("valid until %v", a.ValidUntil)
		}
	}
	// Base64 with line breaks, as some IdPs post it.
	enc := idp.Build(good(now))
	var wrapped strings.Builder
	for i := 0; i < len(enc); i += 76 {
		wrapped.WriteString(enc[i:min(i+76, len(enc))] + "\r\n")
	}
	if _, err := sp.ParseResponse(wrapped.String(), "_req1", now); err != nil {
		t.Fatalf("line-wrapped base64: %v", err)
	}
}

// refused asserts that ParseResponse refuses enc, without panicking.
func refused(t *testing.T, sp *SP, name, enc, inResponseTo string, now time.Time) {
	t.Helper()
	a, err := sp.ParseResponse(enc, inResponseTo, now)
	var re *ResponseError
	t.Logf("%s: %v", name, err)
	if err == nil || !errors.As(err, &re) {
		t.Errorf("%s: accepted (%+v) or odd error %v", name, a, err)
	}
}

func TestParseResponseRefusesHostileResponses(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0)
	other := samltest.NewIdP(testIdPID, 1) // same entity id, another key
	sp := newTestSP(t, idp)
	now := time.Now()
	mod := func(f func(r *samltest.Response)) samltest.Response { r := good(now); f(&r); return r }

	evil := func() *etree.Element {
		r := good(now)
		r.Unsigned = true
		r.Attributes = map[string]string{"email": "owner@victim.example", "name_id": "admin"}
		return idp.Assertion(r)
	}
	cases := map[string]string{
		"unsigned":               idp.Build(mod(func(r *samltest.Response) { r.Unsigned = true })),
		"signed by another key":  other.Build(good(now)),
		"wrong audience":         idp.Build(mod(func(r *samltest.Response) { r.Audience = "https://other-sp.example" })),
		"no audience":            idp.Build(mod(func(r *samltest.Response) { r.NoAudience = true })),
		"expired":                idp.Build(mod(func(r *samltest.Response) { r.Now = now.Add(-time.Hour) })),
		"not yet valid":          idp.Build(mod(func(r *samltest.Response) { r.NotBefore = now.Add(10 * time.Minute) })),
		"wrong recipient":        idp.Build(mod(func(r *samltest.Response) { r.Recipient = "https://evil.example/acs" })),
		"wrong destination":      idp.Build(mod(func(r *samltest.Response) { r.Destination = "https://evil.example/acs"; r.Recipient = testACS })),
		"signed, no destination": idp.Build(mod(func(r *samltest.Response) { r.SignResponse = true; r.Destination = ""; r.Recipient = testACS })),
		"other request":          idp.Build(mod(func(r *samltest.Response) { r.InResponseTo = "_someone-elses" })),
		"unsolicited":            idp.Build(mod(func(r *samltest.Response) { r.InResponseTo = "" })),
		"no issuer":              idp.Build(mod(func(r *samltest.Response) { r.Issuer = "-" })),
		"no issuer, signed resp": idp.Build(mod(func(r *samltest.Response) { r.Issuer = "-"; r.SignResponse = true })),
		"another issuer":         idp.Build(mod(func(r *samltest.Response) { r.Issuer = "https://evil.example" })),
		"failed status":          idp.Build(mod(func(r *samltest.Response) { r.Status = "urn:oasis:names:tc:SAML:2.0:status:Requester" })),
		"two signed assertions": samltest.Encode(idp.Envelope(good(now), idp.Assertion(good(now)),
			idp.Assertion(mod(func(r *samltest.Response) {
				r.Attributes = map[string]string{"email": "eve@acme.example", "name_id": "eve"}
			})))),
		// XSW 1-2: an unsigned evil assertion beside the signed one.
		"XSW evil first":  samltest.Encode(idp.Envelope(good(now), evil(), idp.Assertion(good(now)))),
		"XSW evil second": samltest.Encode(idp.Envelope(good(now), idp.Assertion(good(now)), evil())),
		// XSW 3-4: the signed assertion hidden inside the evil one.
		"XSW signed inside evil": func() string {
			e := evil()
			e.CreateElement("saml:Advice").AddChild(idp.Assertion(good(now)))
			return samltest.Encode(idp.Envelope(good(now), e))
		}(),
		// XSW 5-6: evil assertion reusing the signed one's ID.
		"XSW same ID": func() string {
			r := good(now)
			r.AssertionID = "_shared"
			signed := idp.Assertion(r)
			e := evil()
			e.RemoveAttr("ID")
			e.CreateAttr("ID", "_shared")
			e.AddChild(signed)
			return samltest.Encode(idp.Envelope(good(now), e))
		}(),
		// XSW 7-8: a signed response whose assertion was swapped for an
		// evil one, the original kept in Extensions.
		"XSW signed response, swapped assertion": func() string {
			r := good(now)
			r.SignResponse = true
			doc := idp.Envelope(r, idp.Assertion(r))
			root := doc.Root()
			orig := root.FindElement("./Assertion")
			root.RemoveChild(orig)
			root.CreateElement("samlp:Extensions").AddChild(orig)
			root.AddChild(evil())
			return samltest.Encode(doc)
		}(),
		"signed response, tampered after signing": func() string {
			r := good(now)
			r.SignResponse = true
			doc := idp.Envelope(r, idp.Assertion(r))
			doc.Root().FindElement(".//AttributeValue").SetText("owner@victim.example")
			return samltest.Encode(doc)
		}(),
		"signed assertion, tampered after signing": func() string {
			a := idp.Assertion(good(now))
			a.FindElement(".//AttributeValue").SetText("owner@victim.example")
			return samltest.Encode(idp.Envelope(good(now), a))
		}(),
		"encrypted assertion": samltest.Encode(func() *etree.Document {
			doc := idp.Envelope(good(now), idp.Assertion(good(now)))
			doc.Root().CreateElement("saml:EncryptedAssertion")
			return doc
		}()),
		"no assertion": samltest.Encode(idp.Envelope(good(now))),
		"DTD": base64.StdEncoding.EncodeToString([]byte(`<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "y">]>` +
			strings.TrimPrefix(mustXML(idp.Envelope(good(now), idp.Assertion(good(now)))), `<?xml version="1.0"?>`))),
		"not a response": base64.StdEncoding.EncodeToString([]byte(`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`)),
		"not base64":     "%%%not base64%%%",
		"empty":          "",
		"garbage XML":    base64.StdEncoding.EncodeToString([]byte("<a><b></a>")),
	}
	for name, enc := range cases {
		inResponseTo := "_req1"
		if name == "unsolicited" {
			inResponseTo = "_req1" // the browser sent a request; the response answers none
		}
		refused(t, sp, name, enc, inResponseTo, now)
	}
	// An IdP-initiated response must not claim to answer a request.
	refused(t, sp, "IdP-initiated with InResponseTo", idp.Build(good(now)), "", now)
}

func mustXML(doc *etree.Document) string {
	s, err := doc.WriteToString()
	if err != nil {
		panic(err)
	}
	return s
}

// Clocks differ a little: a response just outside its window is still
// taken within the skew, and refused past it.
func TestParseResponseClockSkew(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0)
	sp := newTestSP(t, idp)
	now := time.Now().Truncate(time.Second)
	r := good(now)
	r.NotBefore = now.Add(time.Minute) // the IdP's clock runs a minute ahead
	if _, err := sp.ParseResponse(idp.Build(r), "_req1", now); err != nil {
		t.Fatalf("within skew (early): %v", err)
	}
	r = good(now)
	r.NotOnOrAfter = now.Add(-time.Minute)
	if _, err := sp.ParseResponse(idp.Build(r), "_req1", now); err != nil {
		t.Fatalf("within skew (late): %v", err)
	}
	r.NotOnOrAfter = now.Add(-DefaultSkew - time.Second)
	refused(t, sp, "past skew", idp.Build(r), "_req1", now)
}

// A NameID in a foreign namespace never becomes the subject (the crewjam
// flaw, GO-2026-6909): the response is refused or the NameID ignored; the
// uid comes from the attributes only.
func TestForeignNamespaceNameID(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0)
	sp := newTestSP(t, idp)
	now := time.Now()
	r := good(now)
	r.NameID, r.NameIDSpace = "admin@victim.example", "urn:evil"
	a, err := sp.ParseResponse(idp.Build(r), "_req1", now)
	if err == nil && (a.NameID != "" || a.Attributes["name_id"][0] != "u-1") {
		t.Fatalf("foreign NameID taken: %+v", a)
	}
	// The SAML-namespace NameID is read (for the record only).
	r.NameIDSpace = ""
	if a, err := sp.ParseResponse(idp.Build(r), "_req1", now); err != nil || a.NameID != "admin@victim.example" {
		t.Fatalf("SAML NameID: %+v %v", a, err)
	}
}

// A comment inside a signed value (which exclusive c14n drops from the
// digest) does not truncate the value the SP reads.
func TestCommentInsideSignedValue(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0)
	sp := newTestSP(t, idp)
	now := time.Now()
	r := good(now)
	r.Mutate = func(a *etree.Element) {
		for _, v := range a.FindElements(".//Attribute") {
			if v.SelectAttrValue("Name", "") == "email" {
				val := v.FindElement("./AttributeValue")
				val.SetText("ada@acme.example")
				val.CreateComment("x")
				val.CreateText(".evil.example")
			}
		}
	}
	a, err := sp.ParseResponse(idp.Build(r), "_req1", now)
	if err == nil && a.Attributes["email"][0] != "ada@acme.example.evil.example" {
		t.Fatalf("comment truncated the value: %q", a.Attributes["email"][0])
	}
}

// A DEFLATE bomb (the redirect binding's encoding) stops at MaxResponseXML
// instead of filling memory.
func TestDeflateBomb(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0)
	sp := newTestSP(t, idp)
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	chunk := bytes.Repeat([]byte("<a>"), 1<<16)
	for range 200 { // ~38 MiB inflated
		w.Write(chunk)
	}
	w.Close()
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	if len(enc) > MaxEncodedResponse {
		t.Fatalf("bomb too large to be a bomb: %d", len(enc))
	}
	if _, err := DecodeResponse(enc); err == nil || !strings.Contains(err.Error(), "inflates past") {
		t.Fatalf("bomb: %v", err)
	}
	refused(t, sp, "bomb", enc, "_req1", time.Now())
	// A deflated response of normal size is read.
	var small bytes.Buffer
	w, _ = flate.NewWriter(&small, flate.DefaultCompression)
	w.Write([]byte(mustXML(idp.Envelope(good(time.Now()), idp.Assertion(good(time.Now()))))))
	w.Close()
	if _, err := sp.ParseResponse(base64.StdEncoding.EncodeToString(small.Bytes()), "_req1", time.Now()); err != nil {
		t.Fatalf("deflated response: %v", err)
	}
}

func TestAuthnRequestURL(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0)
	sp := newTestSP(t, idp)
	u, id, err := sp.AuthnRequestURL("domain-id", time.Now())
	if err != nil || !strings.HasPrefix(u, "https://idp.acme.example/sso?") || !strings.Contains(u, "RelayState=domain-id") || !strings.HasPrefix(id, "_") {
		t.Fatalf("%s %s %v", u, id, err)
	}
	_, id2, _ := sp.AuthnRequestURL("domain-id", time.Now())
	if id2 == id {
		t.Fatal("request IDs repeat")
	}
}

func TestNewSPRefusesBadSettings(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0)
	for name, p := range map[string]IdP{
		"no entity":   {SSOURL: "https://idp/sso", Certificate: idp.CertBase64()},
		"bad url":     {EntityID: "e", SSOURL: "javascript:alert(1)", Certificate: idp.CertBase64()},
		"bad cert":    {EntityID: "e", SSOURL: "https://idp/sso", Certificate: "MIIC..."},
		"no cert":     {EntityID: "e", SSOURL: "https://idp/sso"},
		"relative ur": {EntityID: "e", SSOURL: "/sso", Certificate: idp.CertBase64()},
	} {
		if _, err := NewSP(testEntity, testACS, p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	pem := "-----BEGIN CERTIFICATE-----\n" + idp.CertBase64() + "\n-----END CERTIFICATE-----\n"
	if _, err := NewSP(testEntity, testACS, IdP{EntityID: "e", SSOURL: "https://idp/sso", Certificate: pem}); err != nil {
		t.Fatalf("PEM certificate: %v", err)
	}
}

func TestParseMetadata(t *testing.T) {
	idp := samltest.NewIdP(testIdPID, 0)
	got, err := ParseMetadata([]byte(idp.Metadata("https://idp.acme.example/sso")))
	if err != nil || got.EntityID != testIdPID || got.SSOURL != "https://idp.acme.example/sso" || got.Certificate != idp.CertBase64() {
		t.Fatalf("metadata: %+v %v", got, err)
	}
	wrapped := `<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` +
		strings.TrimPrefix(idp.Metadata("https://idp.acme.example/sso"), `<?xml version="1.0"?>`) + `</md:EntitiesDescriptor>`
	if got, err := ParseMetadata([]byte(wrapped)); err != nil || got.EntityID != testIdPID {
		t.Fatalf("entities descriptor: %+v %v", got, err)
	}
	for name, doc := range map[string]string{
		"empty":    "",
		"not xml":  "hello",
		"no idp":   `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:SPSSODescriptor/></md:EntityDescriptor>`,
		"DTD":      `<!DOCTYPE x [<!ENTITY a "b">]>` + strings.TrimPrefix(idp.Metadata("https://idp/sso"), `<?xml version="1.0"?>`),
		"other ns": `<EntityDescriptor entityID="x"/>`,
	} {
		if _, err := ParseMetadata([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The metadata names this instance, not PostHog, and advertises
	// NameID formats an IdP can satisfy (not "unspecified").
	md := string(SPMetadata(testEntity, testACS, SPOrganization{Name: "Acme Auth", URL: "https://gatehouse.example.com/", ContactEmail: "it@acme.example"}))
	for _, want := range []string{`entityID="https://gatehouse.example.com"`, `Location="https://gatehouse.example.com/complete/saml/"`,
		`WantAssertionsSigned="true"`, `AuthnRequestsSigned="false"`, ">Acme Auth</md:OrganizationName>", "<md:EmailAddress>it@acme.example</md:EmailAddress>",
		"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>",
		"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"} {
		if !strings.Contains(md, want) {
			t.Errorf("SP metadata lacks %s:\n%s", want, md)
		}
	}
	for _, unwanted := range []string{"posthog", "PostHog", "nameid-format:unspecified"} {
		if strings.Contains(md, unwanted) {
			t.Errorf("SP metadata contains %s:\n%s", unwanted, md)
		}
	}
	// Without a contact email no contact is advertised.
	if md := string(SPMetadata(testEntity, testACS, SPOrganization{Name: "gatehouse.example.com"})); strings.Contains(md, "ContactPerson") {
		t.Errorf("contact without SAML_SP_CONTACT_EMAIL:\n%s", md)
	}
}

// FuzzParseResponse feeds arbitrary bytes to the ACS parser, raw and
// base64: it may refuse them, never panic.
func FuzzParseResponse(f *testing.F) {
	idp := samltest.NewIdP(testIdPID, 0)
	sp := newTestSP(f, idp)
	now := time.Now()
	f.Add([]byte(mustXML(idp.Envelope(good(now), idp.Assertion(good(now))))))
	r := good(now)
	r.SignResponse = true
	f.Add([]byte(mustXML(idp.Envelope(r, idp.Assertion(r)))))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/></samlp:Response>`))
	f.Add([]byte("<"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		sp.ParseResponse(base64.StdEncoding.EncodeToString(doc), "_req1", now)
		sp.ParseResponse(string(doc), "", now)
	})
}
