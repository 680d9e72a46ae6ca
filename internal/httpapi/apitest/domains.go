package apitest

import (
	"context"
	"net"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/dnstest"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// testResolver asks the DNS server at addr, or nothing at all when addr is
// empty (every lookup fails), so no test depends on real DNS.
func ResolverAt(addr string) gatehouse.TXTResolver {
	if addr == "" {
		addr = "127.0.0.1:1" // nothing listens: lookups fail fast
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

func StartDNS(t *testing.T) *dnstest.Server {
	t.Helper()
	dns, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	return dns
}

// addDomain claims domain for the owner's organization and returns its id
// and challenge.
func AddDomain(t *testing.T, owner *Browser, domain string) (id, challenge string) {
	t.Helper()
	resp, body := owner.Send("POST", "/api/organizations/@current/domains/", `{"domain":"`+domain+`"}`, true)
	if resp.StatusCode != 201 {
		t.Fatalf("create domain %s: %d %v", domain, resp.StatusCode, body)
	}
	return body["id"].(string), body["verification_challenge"].(string)
}

// enforceSAML verifies acme.example without DNS, configures a SAML IdP on it
// and enforces SAML.
func EnforceSAML(t *testing.T, ts *Server, owner *Browser) {
	t.Helper()
	id, _ := AddDomain(t, owner, "acme.example")
	if _, err := ts.Store.DB().Exec(Rebind(StoreEngine(ts), `UPDATE organization_domains SET verified_at = 1 WHERE id = ?`), id); err != nil {
		t.Fatal(err)
	}
	resp, body := owner.Send("PATCH", "/api/organizations/@current/domains/"+id+"/",
		`{"sso_enforcement":"saml","saml_entity_id":"https://idp.acme.example","saml_acs_url":"https://idp.acme.example/sso","saml_x509_cert":"MIIC..."}`, true)
	if resp.StatusCode != 200 || body["has_saml"] != true {
		t.Fatalf("configure SAML: %d %v", resp.StatusCode, body)
	}
}

func StoreEngine(ts *Server) store.Engine { return ts.Store.Engine() }
