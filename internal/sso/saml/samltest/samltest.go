// Package samltest signs SAML responses for tests: well-formed ones, and
// the hostile variants an attacker would craft (unsigned, wrapped, two
// assertions, foreign keys, missing issuers …). Tests only.
package samltest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// IdP is a test identity provider: a key and its self-signed certificate.
type IdP struct {
	EntityID string
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
}

// testKeys are fixed RSA keys (generating keys is slow, and very slow in
// instrumented fuzzing workers). They sign nothing outside tests.
var testKeys = []string{`-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEAqw+1muC2gVFuqCed3NYLozpyJPJvNRlhJrDMcd6Xm0AthDuu
9OEKLmS6XYdW5iZNMd2ogEetUpYBzabPSENbjJI5dOXRLm2gP9wCiqPRUaPv0+sx
G3T5gaJjF0LT4QpslzzN2aHOQizXVSYprA1hq4dBvW7quNWOyoCvYdl1XN4o+Pf/
ouVoQmNJQMpRIpqHtjDuPfpqSFmn9e2szZTwUow+eG7DuWzuI0WRYLu+rxE1rGZP
qc1njFfEBjFC6+iNgGuXYmNNwV6ZL6aKq71u3ocYbWBPq3FeZa6murG6Zp+D7ruB
4UZTcuVrLsa+UUb1CogaMyG0bXWWEBc4srzZKQIDAQABAoIBABEaXn1wNz8hva8Z
WurACeTVjKEODjlgYrrEFYTTDRRsK8DbWMhKEcMGti1wwSr8rF4ue9DrmbQ2pFKD
+ZiPh4E8A3uhGLOMKWgJHsXu0BhaDDoDe2Lz5Jhl/INQXq/S432RikFWsLEkG5l7
WdJGejv0p4mBo/07+O1dRWvCmr3gnFcwMpg1d/yq3qI8ig7YYclt0GJqADBXO0Sz
0bzqg7tTXY7mqIeTvPWJyNn/ZJSa1oij0UBXYlJ14OeAG0Zo55mYWm0ty23n86sy
0zmzJDMlwBGIocTOtOEEIREk+hPfPcjAUHnpFLztjMPnrWNPOX9oezprGobYSuWc
VRS5CEsCgYEA6trFhkj+5sJ1SToGUjBWMCm1tPM2cpgEowF43kKHNxX/HrZ1+2L/
/XcsdVBp2LcmPwh40yI+fR7W05uzoM+Hjn262ESxGJbklPPitPkCRMlq11V3PA9W
vRcGiNco8yV1cFMjiSvpZH8ybU9Od6zsL7ODZOn2LG89G5wc62YfbecCgYEAunaM
42hkfvR1cNWNJqUgoLGDzoblsxv4cOLBK2uw2cSL/t7k3CzsespE+AzzTx91ejTN
MzrSQ6/kyQ8CmBHIvl7qLV4cw6mXqsJqrqDNueJmkyCYch7FfcjnScWvDq2+jWzm
+tQ0r7zkwhRaH2rNLC8cM+6dUm5vG2HcOxdH/m8CgYASG44RPX2R0zpxy+yC18E9
c2nUKtBu43OwEcP89wov4B1Mg+ry1/4+z7p4zRtsHyruvzt5o/FHemI77IxcAMRF
40HNvPYenDvBlFBNfcmD/jejpK5Nziz05VqWoGhC3weAApkB0YXsPrZnoS6+oXGQ
d/nQhQ16/ZSrlUzRhY00zwKBgF60M56UuOYaN0PV0tkb6VR0lKNitGuh+y8qnD33
dl1EjG4ou0hwsLM05I6v1SwMqFgnVUl9yKmEPsk3jHO8JJ88Ceh88lMWYefi0tha
5+JPcRWs6oCbzGa0kXRQqTblW/DsrOwct53CbNV+DMAEOK0GSGa//LuPR3M64uZI
TtKVAoGAPZZcSeIHZJyxOBKjXAgyPdjP7cpUnTSdLBFf96t/DSuNDzDQ78UzQZnf
y8y8CFjl3F6Xvj6xOMJ1p/9bS2O8tDh5wC9Ad1UPbQR/cpGlAmV6gQEXA4E+/H+1
nb3hsEaqn9Z6pmsWtSJhSKaFRu6ooZAPkfYcSeplXQuH+jwltCg=
-----END RSA PRIVATE KEY-----`, `-----BEGIN RSA PRIVATE KEY-----
MIIEogIBAAKCAQEAqfVcYgDffrfRtDeafKR7OaqmsDxPjlt6oATCO7h0IMg8kJoL
h9QtFMCCCtP1Nj2TPQauDXqvHeaT39BzpfEPsl5zVW9o5tblz/khdaW1N5AN+TLB
PEISj8IXnoLxYfAoYBJboWbslmreC/+WOA7P7hfz7vJstswI8merkw4qFqq1jc88
RISX/mc3ia9tFAAZLzKi1ONTcjWFxUu44KOM1HKsC75bbEzO47CfN8hBYClvjzG2
h916y7ZvNuKSG/keBmfQPZ5owHiauoz3+4CesxMNl3ee5pR9Azd1in9/KyQLuZUo
WfxUpV6dBALVQQmmYCo/Xvra+xgEM+ci/EybWQIDAQABAoIBADR11Nc3V8Ugbi1H
gHr6tkJ9h0gcxZ22ZOphraaLb+TyiadEtUxu1J90MG+xLx5X8UvD9ROaC9WZ54kN
KbVN7D9tYgI8ClA+gt8oEgjjZkVJRNbnsLet2VbgXTQDTQii/YNyBzCRuXNQd0uS
z8Zr5AilAhl+YMonvpc8IryYgatO8zJ0zDhGRbKK6svLLFgoE5M7EWF0wdkEx/tJ
JILTkOtqkfbCxj5soA4DS3vCd2XJu99fncW3W8va8kKro4d10KWelE1FjfDLHdCN
wlBgBmD2Ls2LzypOEo3YwEkkONFb1PyZNKnk8Z0cPJn1TZ6P3cq5iBzV0lgZdshn
+tU9wnUCgYEA2EuMfrkl4wivE+Q38d+yCofCCxE79vAn8MEf1+E8PKu2+8OKRVrZ
rhcKEKFkuuSaIasUFjx+rM/0CaeTpTUo4rKZ79uFcbNAdHaCaPWFfDAotnUqOPnU
JpVusqKj7HHBhVHPEOzFufRg1LsHfAxTrAt30NFMci2lQHk7+78isSMCgYEAyShK
4bl0HqHb3Dy/BM/K9Cz7HtaSRiyy+LmX5IqfD+JTnvP5dH98ymHgB7isDLmHtyrg
eZDLZ3lz+/hyuWGm79JQemXLbLBkuccdkX1J+qxdy7qWB4drPxtE5L8tg/LEe9h3
C2CwkVNvIAU6RmO0q36oPx4TqRqllsRqfs81b1MCgYB1Ywss+28EeIIMWZ/DNZR7
ApLdTs0sh8olb6rIjwUSKF924/j3Cwd45CgiPnVcuRStkRultc9KGtJnKvuGfgNi
hWvmMU2LF62zh13feOCpNbnizFPN+EibaB5b9MjiWhqdMHkgxl/JPEgRLDAzsrz2
coLkYbMLhJpbE3DqgCFj4QKBgEvbP/HDR8DNdOWmmroryfMuizxj2iFQdeVJx7fN
dpI83R/SDT4bXWnMYvlGcMsTo9Q0/RWavrm0mUJpvImgA53oh6TAgmfoVPOh3Mqi
nqVDHtPW9wC71nujwuUoGvfpMqMpTCskOTF0bzF6BzHII7eQOc4jf3KDs/IY+7f6
V8I1AoGAEEtmM4QJgZSfM+2sVzNdTo2j/3GWwnOEVxe9xL6KnLTqXcpEq+nhlqr4
4T/Cr3JJuHSKcpR1aoQioJZThOknMiIgoBQTUtFQOzyymWniHHzvP6reNQAlaveB
SDGvChn7M+wIbqk/2kU0KuYdUQ5urgo4Xj9ncQqREjxxxJbQE5w=
-----END RSA PRIVATE KEY-----`}

var parsedKeys sync.Map

// key returns the n-th test RSA key.
func key(n int) *rsa.PrivateKey {
	if k, ok := parsedKeys.Load(n); ok {
		return k.(*rsa.PrivateKey)
	}
	block, _ := pem.Decode([]byte(testKeys[n%len(testKeys)]))
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		panic(err)
	}
	parsedKeys.Store(n, k)
	return k
}

// NewIdP returns an IdP with entity id entityID and the n-th test key.
func NewIdP(entityID string, n int) *IdP {
	k := key(n)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(n + 1)), Subject: pkix.Name{CommonName: entityID},
		NotBefore: time.Now().Add(-24 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &IdP{EntityID: entityID, Key: k, Cert: cert}
}

// CertBase64 is the certificate as metadata and saml_x509_cert carry it.
func (p *IdP) CertBase64() string { return base64.StdEncoding.EncodeToString(p.Cert.Raw) }

// Metadata is the IdP's metadata XML with a redirect-binding SSO URL.
func (p *IdP) Metadata(ssoURL string) string {
	return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + p.EntityID + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>bm90IGEgY2VydA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
` + p.CertBase64() + `
    </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + ssoURL + `/post"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + ssoURL + `"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`
}

// Response describes one response to build. Zero values give a valid
// response for the SP at Audience/Destination, signed on the assertion.
type Response struct {
	Audience     string // SP entity id
	Destination  string // ACS URL (also the Recipient)
	Recipient    string // overrides Destination for the subject confirmation
	InResponseTo string
	AssertionID  string // random when empty
	Issuer       string // the IdP's entity id when empty; "-" for none
	Now          time.Time
	NotBefore    time.Time // Now-1m when zero
	NotOnOrAfter time.Time // Now+5m when zero
	Attributes   map[string]string
	// SignResponse signs the Response; SignAssertion (default true unless
	// Unsigned) signs the Assertion.
	SignResponse bool
	Unsigned     bool // neither is signed
	NoAudience   bool
	Status       string // Success when empty
	// NameID is put in the Subject, in NameIDSpace (SAML's when empty).
	NameID, NameIDSpace string
	// Mutate changes the assertion element before it is signed.
	Mutate func(assertion *etree.Element)
}

func rnd() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("_%x", b)
}

// Assertion builds and (unless r.Unsigned) signs the assertion element.
func (p *IdP) Assertion(r Response) *etree.Element {
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	if r.NotBefore.IsZero() {
		r.NotBefore = r.Now.Add(-time.Minute)
	}
	if r.NotOnOrAfter.IsZero() {
		r.NotOnOrAfter = r.Now.Add(5 * time.Minute)
	}
	if r.Recipient == "" {
		r.Recipient = r.Destination
	}
	if r.AssertionID == "" {
		r.AssertionID = rnd()
	}
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	a.CreateAttr("ID", r.AssertionID)
	a.CreateAttr("Version", "2.0")
	a.CreateAttr("IssueInstant", ts(r.Now))
	switch r.Issuer {
	case "":
		a.CreateElement("saml:Issuer").SetText(p.EntityID)
	case "-":
	default:
		a.CreateElement("saml:Issuer").SetText(r.Issuer)
	}
	subj := a.CreateElement("saml:Subject")
	if r.NameID != "" {
		if r.NameIDSpace != "" {
			n := subj.CreateElement("x:NameID")
			n.CreateAttr("xmlns:x", r.NameIDSpace)
			n.SetText(r.NameID)
		} else {
			subj.CreateElement("saml:NameID").SetText(r.NameID)
		}
	}
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("NotOnOrAfter", ts(r.NotOnOrAfter))
	scd.CreateAttr("Recipient", r.Recipient)
	if r.InResponseTo != "" {
		scd.CreateAttr("InResponseTo", r.InResponseTo)
	}
	cond := a.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(r.NotBefore))
	cond.CreateAttr("NotOnOrAfter", ts(r.NotOnOrAfter))
	if !r.NoAudience {
		cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(r.Audience)
	}
	authn := a.CreateElement("saml:AuthnStatement")
	authn.CreateAttr("AuthnInstant", ts(r.Now))
	authn.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:Password")
	if len(r.Attributes) > 0 {
		st := a.CreateElement("saml:AttributeStatement")
		for name, v := range r.Attributes {
			at := st.CreateElement("saml:Attribute")
			at.CreateAttr("Name", name)
			at.CreateElement("saml:AttributeValue").SetText(v)
		}
	}
	if r.Mutate != nil {
		r.Mutate(a)
	}
	if r.Unsigned || r.SignResponse {
		return a
	}
	return p.Sign(a)
}

// Sign returns el with an enveloped signature by the IdP's key.
func (p *IdP) Sign(el *etree.Element) *etree.Element {
	ctx, err := dsig.NewSigningContext(p.Key, [][]byte{p.Cert.Raw})
	if err != nil {
		panic(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		panic(err)
	}
	return signed
}

// Envelope wraps assertions in a Response for r (signed when
// r.SignResponse) and returns the document.
func (p *IdP) Envelope(r Response, assertions ...*etree.Element) *etree.Document {
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	resp := etree.NewElement("samlp:Response")
	resp.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	resp.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	resp.CreateAttr("ID", rnd())
	resp.CreateAttr("Version", "2.0")
	resp.CreateAttr("IssueInstant", r.Now.UTC().Format(time.RFC3339))
	resp.CreateAttr("Destination", r.Destination)
	if r.InResponseTo != "" {
		resp.CreateAttr("InResponseTo", r.InResponseTo)
	}
	switch r.Issuer {
	case "":
		resp.CreateElement("saml:Issuer").SetText(p.EntityID)
	case "-":
	default:
		resp.CreateElement("saml:Issuer").SetText(r.Issuer)
	}
	status := r.Status
	if status == "" {
		status = "urn:oasis:names:tc:SAML:2.0:status:Success"
	}
	resp.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", status)
	for _, a := range assertions {
		resp.AddChild(a)
	}
	if r.SignResponse && !r.Unsigned {
		resp = p.Sign(resp)
	}
	doc := etree.NewDocument()
	doc.SetRoot(resp)
	return doc
}

// Encode is the document as the HTTP-POST binding carries it.
func Encode(doc *etree.Document) string {
	b, err := doc.WriteToBytes()
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// Build is a complete encoded response for r.
func (p *IdP) Build(r Response) string {
	return Encode(p.Envelope(r, p.Assertion(r)))
}
