package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/dnstest"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// `gatehouse domain verify` asks the DNS server DNS_RESOLVER names, and
// --force verifies without DNS.
func TestDomainVerifyCommand(t *testing.T) {
	t.Parallel()
	dns, err := dnstest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer dns.Close()
	env, dir, opts := engineEnv(t, store.SQLite)
	env = append(env, "DNS_RESOLVER="+dns.Addr)
	createUser(t, env, dir)

	ctx := context.Background()
	st, err := store.Open(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.UserByEmail(ctx, "ops@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"acme.example", "offline.example"} {
		if err := st.CreateDomain(ctx, &gatehouse.OrganizationDomain{ID: gatehouse.NewUUID(), OrganizationID: u.CurrentOrganizationID,
			Domain: name, VerificationChallenge: "challenge-" + name, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	verified := func(name string) bool {
		d, err := st.DomainByName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return d.IsVerified()
	}

	_, stderr, code := runCmd(t, env, "domain", "verify", "--data-dir", dir, "--domain", "acme.example")
	if code != 1 || !strings.Contains(stderr, "_posthog-challenge.acme.example") || !strings.Contains(stderr, "challenge-acme.example") || verified("acme.example") {
		t.Fatalf("verify without a record: %d %s", code, stderr)
	}
	dns.SetTXT("_posthog-challenge.acme.example", "challenge-acme.example")
	out, stderr, code := runCmd(t, env, "domain", "verify", "--data-dir", dir, "--domain", "ACME.example")
	if code != 0 || !strings.Contains(out, "acme.example is verified") || !verified("acme.example") {
		t.Fatalf("verify with the record: %d %s %s", code, out, stderr)
	}
	out, stderr, code = runCmd(t, env, "domain", "verify", "--data-dir", dir, "--domain", "offline.example", "--force")
	if code != 0 || !verified("offline.example") {
		t.Fatalf("verify --force: %d %s %s", code, out, stderr)
	}
	if _, stderr, code := runCmd(t, env, "domain", "verify", "--data-dir", dir, "--domain", "unclaimed.example"); code != 1 || !strings.Contains(stderr, "no organization has claimed") {
		t.Fatalf("unclaimed domain: %d %s", code, stderr)
	}
	if _, _, code := runCmd(t, env, "domain", "verify", "--data-dir", dir); code != 2 {
		t.Fatalf("missing --domain: exit %d, want 2", code)
	}
	if _, _, code := runCmd(t, append(env, "DNS_RESOLVER=not-an-address"), "domain", "verify", "--data-dir", dir, "--domain", "acme.example"); code != 2 {
		t.Fatalf("bad DNS_RESOLVER: exit %d, want 2", code)
	}
}
