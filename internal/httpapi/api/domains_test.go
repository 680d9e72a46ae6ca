package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestDomainsVerifyByDNS(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		dns := apitest.StartDNS(t)
		ts := apitest.NewServer(t, engine, apitest.Options{DnsAddr: dns.Addr})
		owner := apitest.OwnerBrowser(t, ts)
		base := "/api/organizations/" + ts.User.CurrentOrganizationID + "/domains/"

		for _, bad := range []string{"", "Acme.Example", "acme", "-acme.example", "acme..example", "acme.example/x", "http://acme.example"} {
			resp, body := owner.Send("POST", base, `{"domain":"`+bad+`"}`, true)
			if resp.StatusCode != 400 || body["attr"] != "domain" {
				t.Errorf("domain %q: %d %v, want 400 on domain", bad, resp.StatusCode, body)
			}
		}
		id, challenge := apitest.AddDomain(t, owner, "acme.example")
		if len(challenge) != 43 {
			t.Fatalf("challenge %q: want 43 URL-safe characters", challenge)
		}
		// Taken, by this or any organization.
		if resp, body := owner.Send("POST", base, `{"domain":"acme.example"}`, true); resp.StatusCode != 400 || body["code"] != "unique" {
			t.Fatalf("duplicate: %d %v", resp.StatusCode, body)
		}
		// Enforcement and JIT wait for verification.
		for _, patch := range []string{`{"sso_enforcement":"saml"}`, `{"jit_provisioning_enabled":true}`} {
			if resp, body := owner.Send("PATCH", base+id+"/", patch, true); resp.StatusCode != 400 || body["code"] != "verification_required" {
				t.Fatalf("%s before verification: %d %v", patch, resp.StatusCode, body)
			}
		}
		// No record, then a wrong one: still unverified, the retry noted.
		for _, records := range [][]string{nil, {"not-the-challenge", challenge + "x"}} {
			if records != nil {
				dns.SetTXT("_posthog-challenge.acme.example", records...)
			}
			resp, body := owner.Send("POST", base+id+"/verify/", ``, true)
			if resp.StatusCode != 200 || body["is_verified"] != false {
				t.Fatalf("verify with %v: %d %v", records, resp.StatusCode, body)
			}
		}
		d, err := ts.Store.DomainByID(context.Background(), id)
		if err != nil || d.LastVerificationRetry == nil || d.IsVerified() {
			t.Fatalf("after failed attempts: %+v %v", d, err)
		}
		// The record at another name proves nothing.
		dns.SetTXT("acme.example", challenge)
		if _, body := owner.Send("POST", base+id+"/verify/", ``, true); body["is_verified"] != false {
			t.Fatal("a TXT record outside _posthog-challenge verified the domain")
		}
		dns.SetTXT("_posthog-challenge.acme.example", "unrelated", challenge)
		resp, body := owner.Send("POST", base+id+"/verify/", ``, true)
		if resp.StatusCode != 200 || body["is_verified"] != true || body["verified_at"] == nil {
			t.Fatalf("verify: %d %v", resp.StatusCode, body)
		}
		if resp, body := owner.Send("POST", base+id+"/verify/", ``, true); resp.StatusCode != 400 || body["code"] != "already_verified" {
			t.Fatalf("second verify: %d %v", resp.StatusCode, body)
		}
		resp, body = owner.Send("PATCH", base+id+"/", `{"jit_provisioning_enabled":true,"sso_enforcement":"saml"}`, true)
		if resp.StatusCode != 200 || body["jit_provisioning_enabled"] != true || body["sso_enforcement"] != "saml" || body["has_saml"] != false {
			t.Fatalf("patch after verification: %d %v", resp.StatusCode, body)
		}
		if resp, body := owner.Send("PATCH", base+id+"/", `{"sso_enforcement":"myspace"}`, true); resp.StatusCode != 400 || body["attr"] != "sso_enforcement" {
			t.Fatalf("unknown backend: %d %v", resp.StatusCode, body)
		}
		resp, list := owner.Send("GET", base, ``, false)
		if results, _ := list["results"].([]any); resp.StatusCode != 200 || len(results) != 1 || list["count"] != float64(1) {
			t.Fatalf("list: %d %v", resp.StatusCode, list)
		}
		if resp, _ := owner.Send("DELETE", base+id+"/", ``, true); resp.StatusCode != 204 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if resp, _ := owner.Send("GET", base+id+"/", ``, false); resp.StatusCode != 404 {
			t.Fatalf("after delete: %d", resp.StatusCode)
		}
	})
}

func TestDomainsPermissions(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{MultiOrg: true})
	owner := apitest.OwnerBrowser(t, ts)
	id, _ := apitest.AddDomain(t, owner, "acme.example")
	base := "/api/organizations/@current/domains/"

	member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
	if resp, body := member.Send("GET", base, ``, false); resp.StatusCode != 200 || body["count"] != float64(1) {
		t.Fatalf("member list: %d %v", resp.StatusCode, body)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", base, `{"domain":"other.example"}`},
		{"PATCH", base + id + "/", `{"saml_entity_id":"x"}`},
		{"POST", base + id + "/verify/", ``},
		{"DELETE", base + id + "/", ``},
	} {
		if resp, body := member.Send(c.method, c.path, c.body, true); resp.StatusCode != 403 {
			t.Errorf("member %s %s: %d %v, want 403", c.method, c.path, resp.StatusCode, body)
		}
	}
	// Someone else's organization is invisible, not forbidden.
	outsider := apitest.NewBrowser(t, ts)
	if resp, _ := outsider.Send("POST", "/api/signup", apitest.SignupBody("out@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
		t.Fatal("signup failed")
	}
	other := "/api/organizations/" + ts.User.CurrentOrganizationID + "/domains/"
	if resp, _ := outsider.Send("GET", other, ``, false); resp.StatusCode != 404 {
		t.Fatalf("outsider list: %d, want 404", resp.StatusCode)
	}
	if resp, _ := outsider.Send("GET", other+id+"/", ``, false); resp.StatusCode != 404 {
		t.Fatalf("outsider get: %d, want 404", resp.StatusCode)
	}
	// Claiming a domain another organization holds fails.
	if resp, body := outsider.Send("POST", "/api/organizations/@current/domains/", `{"domain":"acme.example"}`, true); resp.StatusCode != 400 || body["code"] != "unique" {
		t.Fatalf("claim a taken domain: %d %v", resp.StatusCode, body)
	}
	if resp, _ := apitest.NewBrowser(t, ts).Send("GET", other, ``, false); resp.StatusCode != 401 && resp.StatusCode != 403 {
		t.Fatalf("anonymous list: %d", resp.StatusCode)
	}
}

// With SAML enforced on acme.example, passwords stop working there: login,
// reset and invite signup answer sso_enforced, and precheck says so; other
// domains are untouched.
func TestSSOEnforcement(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		inviteID := apitest.MustInvite(t, owner, "ada@acme.example", 1)
		// The invitee joins before enforcement starts, with a password.
		ada := apitest.NewBrowser(t, ts)
		if resp, body := ada.Send("POST", "/api/signup/"+apitest.MustInvite(t, owner, "grace@acme.example", 1)+"/", apitest.InviteSignupBody("Grace", apitest.GoodPassword), false); resp.StatusCode != 201 {
			t.Fatalf("invite signup before enforcement: %d %v", resp.StatusCode, body)
		}

		precheck := func(email string) map[string]any {
			_, body := apitest.NewBrowser(t, ts).Send("POST", "/api/login/precheck", `{"email":"`+email+`"}`, false)
			return body
		}
		if body := precheck("grace@acme.example"); body["sso_enforcement"] != nil || body["saml_available"] != false {
			t.Fatalf("precheck before enforcement: %v", body)
		}
		apitest.EnforceSAML(t, ts, owner)
		if body := precheck("grace@ACME.example"); body["sso_enforcement"] != "saml" || body["saml_available"] != true {
			t.Fatalf("precheck: %v", body)
		}
		if body := precheck("owner@example.com"); body["sso_enforcement"] != nil || body["saml_available"] != false {
			t.Fatalf("precheck elsewhere: %v", body)
		}

		// The right password is refused, before any password check.
		resp, body := apitest.NewBrowser(t, ts).Login("grace@acme.example", apitest.GoodPassword)
		if resp.StatusCode != 400 || body["code"] != "sso_enforced" || body["detail"] != "You can only login with SSO for this account (saml)." {
			t.Fatalf("login: %d %v", resp.StatusCode, body)
		}
		// Unknown addresses in the domain get the same answer.
		if resp, body := apitest.NewBrowser(t, ts).Login("nobody@acme.example", "whatever it is"); resp.StatusCode != 400 || body["code"] != "sso_enforced" {
			t.Fatalf("unknown email login: %d %v", resp.StatusCode, body)
		}
		for _, email := range []string{"grace@acme.example", "nobody@acme.example"} {
			resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/reset/", `{"email":"`+email+`"}`, false)
			if resp.StatusCode != 400 || body["code"] != "sso_enforced" {
				t.Fatalf("reset for %s: %d %v", email, resp.StatusCode, body)
			}
		}
		if resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup/"+inviteID+"/", apitest.InviteSignupBody("Ada", apitest.GoodPassword), false); resp.StatusCode != 400 || body["code"] != "sso_enforced" {
			t.Fatalf("invite signup: %d %v", resp.StatusCode, body)
		}
		for _, m := range ts.Mail.Messages() {
			if strings.Contains(m.To, "acme.example") && strings.Contains(strings.ToLower(m.Subject), "reset") {
				t.Fatalf("a reset mail went out under enforcement: %+v", m)
			}
		}
		// Elsewhere passwords still work.
		if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatal("owner login failed")
		}
	})
}

// Enforcement that cannot be honoured is ignored rather than locking
// everyone out: SAML without a complete IdP configuration, an unverified
// domain, or a provider this instance does not have.
func TestSSOEnforcementIgnoredWhenUnusable(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	owner := apitest.OwnerBrowser(t, ts)
	if resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/signup/"+apitest.MustInvite(t, owner, "grace@acme.example", 1)+"/", apitest.InviteSignupBody("Grace", apitest.GoodPassword), false); resp.StatusCode != 201 {
		t.Fatal("invite signup failed")
	}
	id, _ := apitest.AddDomain(t, owner, "acme.example")
	set := func(q string) {
		t.Helper()
		if _, err := ts.Store.DB().Exec(q, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ name, sql string }{
		{"unverified", `UPDATE organization_domains SET sso_enforcement = 'saml', saml_entity_id = 'e', saml_acs_url = 'u', saml_x509_cert = 'c' WHERE id = ?`},
		{"SAML incomplete", `UPDATE organization_domains SET verified_at = 1, saml_x509_cert = '' WHERE id = ?`},
		{"provider not configured", `UPDATE organization_domains SET sso_enforcement = 'github' WHERE id = ?`},
	} {
		set(c.sql)
		if resp, body := apitest.NewBrowser(t, ts).Login("grace@acme.example", apitest.GoodPassword); resp.StatusCode != 200 {
			t.Errorf("%s: login refused: %d %v", c.name, resp.StatusCode, body)
		}
	}
	if !strings.Contains(ts.Logs.String(), "sso enforcement ignored") {
		t.Fatal("ignoring enforcement must log a warning")
	}
}

// Without JavaScript, the login page answers a password for an enforced
// domain by hiding the password field and naming the method.
func TestLoginPageUnderSSOEnforcement(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	owner := apitest.OwnerBrowser(t, ts)
	apitest.EnforceSAML(t, ts, owner)
	b := apitest.NewBrowser(t, ts)
	resp, html := b.Submit("/login", "/login", map[string]string{"email": "grace@acme.example", "password": apitest.GoodPassword})
	if resp.StatusCode != 400 || !strings.Contains(html, `<div id="password-area" hidden>`) || !strings.Contains(html, `<strong id="sso-provider">SAML</strong>`) ||
		!strings.Contains(html, "You can only login with SSO for this account (saml).") {
		t.Fatalf("login page under enforcement: %d\n%s", resp.StatusCode, html)
	}
	resp, js := b.Page("GET", "/static/login.js", nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(js, "/api/login/precheck/") {
		t.Fatalf("login script: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// In a real browser the precheck hides the password field as soon as an
// enforced email is entered, and keeps it for other emails.
func TestBrowserLoginPrecheckHidesPassword(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "drives headless chromium")
	ctx := apitest.NewBrowserContext(t)
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{SiteURL: "http://localhost:{port}"})
	apitest.EnforceSAML(t, ts, apitest.OwnerBrowser(t, ts))
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`#password`),
		chromedp.SendKeys(`#email`, "grace@acme.example"+kb.Tab), // leaving the field runs the precheck
		chromedp.WaitNotVisible(`#password`),
		chromedp.WaitVisible(`#sso-notice`),
	); err != nil {
		t.Fatalf("enforced email: %v", err)
	}
	if provider, err := chromedp.Run(ctx, chromedp.Text(`#sso-provider`)); err != nil || provider != "SAML" {
		t.Fatalf("named provider %q, %v", provider, err)
	}
	if href, err := chromedp.Run(ctx, chromedp.AttributeValue(`#sso-link`, "href")); err != nil || !strings.Contains(href.Value, "/login/saml/?email=grace%40acme.example") {
		t.Fatalf("link to the enforced method: %q %v", href.Value, err)
	}
	// Another address, in a fresh browser: the precheck answers, and the
	// password stays.
	ctx = apitest.NewBrowserContext(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`#password`),
		chromedp.SendKeys(`#email`, "owner@example.com"+kb.Tab),
		chromedp.SendKeys(`#password`, apitest.OwnerPassword),
		chromedp.Submit(`form[action="/login"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	); err != nil {
		t.Fatalf("other email: %v", err)
	}
}

// Domains accept personal API keys with the organization scope.
func TestDomainsWithPersonalAPIKey(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	owner := apitest.OwnerBrowser(t, ts)
	apitest.AddDomain(t, owner, "acme.example")
	reader := apitest.MustKey(t, owner, "organization:read")
	other := apitest.MustKey(t, owner, "feature_flag:read")
	path := "/api/organizations/@current/domains/"
	if resp, body := apitest.KeyRequest(t, ts, "GET", path, reader, ""); resp.StatusCode != 200 || body["count"] != float64(1) {
		t.Fatalf("organization:read key: %d %v", resp.StatusCode, body)
	}
	if resp, body := apitest.KeyRequest(t, ts, "POST", path, reader, `{"domain":"other.example"}`); resp.StatusCode != 403 {
		t.Fatalf("read key writing: %d %v", resp.StatusCode, body)
	}
	if resp, body := apitest.KeyRequest(t, ts, "GET", path, other, ""); resp.StatusCode != 403 {
		t.Fatalf("key without the scope: %d %v", resp.StatusCode, body)
	}
}
