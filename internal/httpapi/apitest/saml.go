package apitest

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/crewjam/saml/samlidp"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml/samltest"
	"golang.org/x/crypto/bcrypt"
)

func StartCrewjamIdP(t *testing.T) *CrewjamIdP {
	t.Helper()
	keys := samltest.NewIdP("unused", 1)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	idp, err := samlidp.New(samlidp.Options{URL: *u, Key: keys.Key, Signer: keys.Key, Certificate: keys.Cert, Store: &samlidp.MemoryStore{},
		Logger: log.New(io.Discard, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	// The login form posts straight back to the SSO endpoint, which then
	// answers the pending AuthnRequest.
	idp.IDP.LoginURL = idp.IDP.SSOURL
	mux.Handle("/", idp)
	hash, _ := bcrypt.GenerateFromPassword([]byte("ada's password"), bcrypt.MinCost)
	if err := idp.Store.Put("/users/ada", samlidp.User{Name: "ada", HashedPassword: hash, Email: "ada@acme.example", GivenName: "Ada", Surname: "Lovelace", CommonName: "Ada Lovelace"}); err != nil {
		t.Fatal(err)
	}
	return &CrewjamIdP{Srv: srv, Idp: idp}
}

// samlDomain claims acme.example for the owner's organization, marks it
// verified (as `gatehouse domain verify --force` would), turns on JIT and
// uploads the IdP's metadata. It returns the domain id.
func SamlDomain(t *testing.T, ts *Server, owner *Browser, idpMetadata string) string {
	t.Helper()
	id, _ := AddDomain(t, owner, "acme.example")
	if _, err := ts.Store.DB().Exec(Rebind(StoreEngine(ts), `UPDATE organization_domains SET verified_at = 1 WHERE id = ?`), id); err != nil {
		t.Fatal(err)
	}
	base := "/api/organizations/@current/domains/" + id + "/"
	if resp, body := owner.Send("PATCH", base, `{"jit_provisioning_enabled":true}`, true); resp.StatusCode != 200 {
		t.Fatalf("JIT: %d %v", resp.StatusCode, body)
	}
	resp, body := owner.Send("POST", base+"saml_metadata/", idpMetadata, true, "Content-Type", "application/samlmetadata+xml")
	if resp.StatusCode != 200 || body["has_saml"] != true {
		t.Fatalf("metadata upload: %d %v", resp.StatusCode, body)
	}
	return id
}

func SamlBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func ErrorCodeOf(resp *http.Response) string {
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return ""
	}
	return u.Query().Get("error_code")
}

// craftedACS posts a response signed by idp (samltest) to the ACS, with the
// pending-request cookie of a login begun for email when begin is set.
func CraftedACS(t *testing.T, ts *Server, b *Browser, relayState string, encoded string) *http.Response {
	t.Helper()
	resp, err := b.Client.PostForm(ts.URL+"/complete/saml/", url.Values{"SAMLResponse": {encoded}, "RelayState": {relayState}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// CrewjamIdP is a real SAML identity provider (crewjam's samlidp) with
// one user, ada@acme.example (password "ada's password").
type CrewjamIdP struct {
	Srv *httptest.Server
	Idp *samlidp.Server
}

// register gives the IdP Gatehouse's SP metadata.
func (c *CrewjamIdP) Register(t *testing.T, spMetadata string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", c.Srv.URL+"/services/gatehouse", strings.NewReader(spMetadata))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode/100 != 2 {
		t.Fatalf("registering the SP with the IdP: %v %v", resp, err)
	}
	resp.Body.Close()
}

func (c *CrewjamIdP) Metadata(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(c.Srv.URL + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
