package web_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestBrowserSAMLLogin drives the real pages in headless Chromium: the
// owner adds acme.example on the domains page, publishes the DNS record it
// shows and verifies, turns on JIT, pastes the IdP's metadata; then a new
// user signs in at the IdP (crewjam's samlidp) and lands signed in.
func TestBrowserSAMLLogin(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "drives headless chromium through a real SAML IdP")
	ctx := apitest.NewBrowserContext(t)
	dns := apitest.StartDNS(t)
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{DnsAddr: dns.Addr, SiteURL: "http://localhost:{port}"})
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	idp := apitest.StartCrewjamIdP(t)
	idp.Register(t, string(saml.SPMetadata(base, base+saml.ACSPath, saml.SPOrganization{Name: "localhost"})))

	step := apitest.Steps(t, ctx)
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("reading %s: %v", sel, err)
		}
		return v
	}
	// done waits for the page a form led to (its marker), not the notice
	// of the page before.
	done := func(form string) {
		t.Helper()
		step("after "+form, chromedp.WaitReady(`#saved-`+form))
	}
	step("owner logs in",
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(`#email`),
		chromedp.SendKeys(`#email`, "owner@example.com"),
		chromedp.SendKeys(`#password`, apitest.OwnerPassword),
		chromedp.Submit(`form[action="/login"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	step("add a domain",
		chromedp.Navigate(base+"/settings/domains"),
		chromedp.WaitVisible(`#domain`),
		chromedp.SendKeys(`#domain`, "acme.example"),
		chromedp.Submit(`form[action="/settings/domains"]`),
		chromedp.WaitVisible(`.record-value`),
	)
	if name := text(`.record-name`); name != "_posthog-challenge.acme.example" {
		t.Fatalf("record name %q", name)
	}
	if status := text(`.status`); !strings.Contains(status, "Not verified") {
		t.Fatalf("status before verification %q", status)
	}
	dns.SetTXT("_posthog-challenge.acme.example", text(`.record-value`))
	step("verify",
		chromedp.Submit(`form[action$="/verify"]`),
		chromedp.WaitVisible(`.status.verified`),
	)
	step("turn on JIT",
		chromedp.Click(`input[name="jit_provisioning_enabled"]`),
		chromedp.Submit(`form.policy`),
	)
	done("policy")
	if n := text(`.notice`); !strings.Contains(n, "policy saved") {
		t.Fatalf("policy notice %q", n)
	}
	step("paste the IdP metadata",
		chromedp.SetValue(`textarea[name="metadata"]`, idp.Metadata(t)),
		chromedp.Submit(`form.saml`),
	)
	done("saml")
	if s := text(`.saml-status`); !strings.Contains(s, "Configured") || !strings.Contains(s, idp.Srv.URL) {
		t.Fatalf("SAML status %q", s)
	}
	step("owner logs out",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`form[action="/logout"]`),
		chromedp.Submit(`form[action="/logout"]`),
		chromedp.WaitVisible(`form[action="/login"]`),
	)
	step("ada signs in at the IdP",
		chromedp.Navigate(base+"/login/saml/?email=ada@acme.example"),
		chromedp.WaitVisible(`input[name="user"]`),
		chromedp.SendKeys(`input[name="user"]`, "ada"),
		chromedp.SendKeys(`input[name="password"]`, "ada's password"),
		chromedp.Submit(`input[name="user"]`),
		chromedp.WaitVisible(`form[action="/logout"]`),
	)
	if home := text(`main`); !strings.Contains(home, "ada@acme.example") {
		t.Fatalf("home after SAML login: %q\n%s", home, ts.Logs.String())
	}
}
