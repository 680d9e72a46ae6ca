package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml/samltest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// A single sign-on that claims an account whose email was never verified
// is logged and mailed to the address; an account whose email was
// verified is never claimed: the identity is linked and the password
// keeps working.
func TestSSOClaimIsLoggedAndMailed(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := apitest.NewIdP(t)
		ts := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp)})
		idp.SignInAs(apitest.IdpUser{Sub: "o-1", Email: "owner@example.com", Verified: true, Name: "Owner"})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).SocialLogin("/login/acme-sso/"), "/")
		if lines := apitest.LogLines(ts, `"level":"WARN"`, `"msg":"sso claimed an account"`, `"provider":"acme-sso"`, ts.User.UUID); len(lines) != 1 {
			t.Fatalf("claim log lines: %q\n%s", lines, ts.Logs.String())
		}
		claimed := 0
		for _, m := range ts.Mail.Messages() {
			if m.To == "owner@example.com" && strings.Contains(m.Subject, "taken over") && strings.Contains(m.Text, "Acme SSO") {
				claimed++
			}
		}
		if claimed != 1 {
			t.Fatalf("claim notices: %d in %+v", claimed, ts.Mail.Messages())
		}

		// Verified email (createuser vouches for it): linked, not claimed.
		ts2 := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp)})
		if _, err := ts2.Store.SetEmailVerified(context.Background(), ts2.User.ID); err != nil {
			t.Fatal(err)
		}
		signedIn := apitest.NewBrowser(t, ts2)
		if resp, _ := signedIn.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("password login: %d", resp.StatusCode)
		}
		idp.SignInAs(apitest.IdpUser{Sub: "o-2", Email: "owner@example.com", Verified: true, Name: "Owner"})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts2).SocialLogin("/login/acme-sso/"), "/")
		if resp, _ := apitest.NewBrowser(t, ts2).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("the verified owner's password stopped working after an SSO login: %d", resp.StatusCode)
		}
		if status, _ := signedIn.Me(); status != 200 {
			t.Fatalf("the verified owner's session ended after an SSO login: %d", status)
		}
		if lines := apitest.LogLines(ts2, "sso claimed an account"); len(lines) != 0 {
			t.Fatalf("a verified account was claimed: %q", lines)
		}
		for _, m := range ts2.Mail.Messages() {
			if strings.Contains(m.Subject, "taken over") {
				t.Fatalf("claim notice for a verified account: %+v", m)
			}
		}
	})
}

// Every refused sign-in is logged once at WARN with the provider, the
// reason and what the IdP said, and the page tells the user what to do.
func TestSSOFailuresAreLoggedAndExplained(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := apitest.NewIdP(t)
		providers := apitest.SocialProviders(idp)
		for i := range providers {
			if providers[i].Name == "acme-sso" {
				providers[i].ClientSecret = gatehouse.Secret("not-the-secret")
			}
		}
		ts := apitest.NewServer(t, engine, apitest.Options{Social: providers})
		idp.SignInAs(apitest.IdpUser{Sub: "o-1", Email: "owner@example.com", Verified: true, Name: "Owner"})

		// A wrong client secret: not "the code may have been used".
		loc := apitest.NewBrowser(t, ts).SocialLogin("/login/acme-sso/")
		apitest.WantLocation(t, loc, "/login?error_code=sso_client_rejected&provider=acme-sso")
		if page := apitest.LoginPage(t, ts, loc); !strings.Contains(page, "Gatehouse&#39;s client ID or secret for Acme SSO is wrong: ask your administrator.") {
			t.Fatalf("wrong secret page:\n%s", page)
		}
		if lines := apitest.LogLines(ts, `"level":"WARN"`, `"msg":"sso login refused"`, `"provider":"acme-sso"`, `"code":"sso_client_rejected"`, `"idp_error":"invalid_client"`); len(lines) != 1 {
			t.Fatalf("wrong secret log lines: %q\n%s", lines, ts.Logs.String())
		}

		// Errors the IdP sends back to the callback.
		for _, c := range []struct{ idpError, code, words string }{
			{"invalid_scope", "sso_request_rejected", "Google refused Gatehouse&#39;s sign-in request"},
			{"temporarily_unavailable", "sso_provider_error", "Google could not be reached or failed"},
			{"access_denied", "access_denied", "The sign-in was cancelled at Google."},
			{"weird_error", "sso_provider_refused", "Google refused the sign-in."},
		} {
			b := apitest.NewBrowser(t, ts)
			callback, _ := url.Parse(b.SocialRound("/login/google-oauth2/"))
			q := callback.Query()
			q.Del("code")
			q.Set("error", c.idpError)
			q.Set("error_description", "because of "+c.idpError)
			callback.RawQuery = q.Encode()
			loc := b.Get(callback.String()).Header.Get("Location")
			apitest.WantLocation(t, loc, "/login?error_code="+c.code+"&provider=google-oauth2")
			if page := apitest.LoginPage(t, ts, loc); !strings.Contains(page, c.words) {
				t.Errorf("%s: page lacks %q", c.idpError, c.words)
			}
			if lines := apitest.LogLines(ts, `"level":"WARN"`, `"provider":"google-oauth2"`, `"idp_error":"`+c.idpError+`"`, `"idp_error_description":"because of `+c.idpError+`"`); len(lines) != 1 {
				t.Errorf("%s: log lines %q", c.idpError, lines)
			}
		}
		// Nothing secret reaches the log.
		if logs := ts.Logs.String(); strings.Contains(logs, idp.Secret) || strings.Contains(logs, "not-the-secret") {
			t.Fatal("a client secret was logged")
		}
	})
}

// SAML refusals name their reason in the log: the missing attribute (and
// the names tried) and a missing RelayState.
func TestSAMLFailuresAreLogged(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		idp := samltest.NewIdP("https://idp.acme.example/metadata", 0)
		domainID := apitest.SamlDomain(t, ts, owner, idp.Metadata("https://idp.acme.example/sso"))
		if resp, _ := owner.Send("PATCH", "/api/organizations/@current/domains/"+domainID+"/saml/", `{"allow_idp_initiated":true}`, true); resp.StatusCode != 200 {
			t.Fatalf("allow IdP-initiated: %d", resp.StatusCode)
		}
		site, acs := "https://gatehouse.example.com", "https://gatehouse.example.com/complete/saml/"
		enc := idp.Build(samltest.Response{Audience: site, Destination: acs, Attributes: map[string]string{"name_id": "g-1", "mail": "grace@acme.example"}})
		resp := apitest.CraftedACS(t, ts, apitest.NewBrowser(t, ts), domainID, enc)
		apitest.WantLocation(t, resp.Header.Get("Location"), "/login?error_code=required&provider=saml")
		if page := apitest.LoginPage(t, ts, resp.Header.Get("Location")); !strings.Contains(page, "Your identity provider did not send your email address or user id: ask your administrator") {
			t.Fatalf("missing attribute page:\n%s", page)
		}
		if lines := apitest.LogLines(ts, `"level":"WARN"`, `"provider":"saml"`, `"code":"required"`, "no email attribute", "urn:oid:0.9.2342.19200300.100.1.3", "it has mail, name_id"); len(lines) != 1 {
			t.Fatalf("missing attribute log lines: %q\n%s", lines, ts.Logs.String())
		}
		resp = apitest.CraftedACS(t, ts, apitest.NewBrowser(t, ts), "", enc)
		if code := apitest.ErrorCodeOf(resp); code != "invalid_relay_state" {
			t.Fatalf("no RelayState: %s", resp.Header.Get("Location"))
		}
		if lines := apitest.LogLines(ts, `"level":"WARN"`, `"code":"invalid_relay_state"`, "RelayState"); len(lines) != 1 {
			t.Fatalf("relay state log lines: %q", lines)
		}
	})
}

// Names: the confirm-creation step keeps the provider's last name when
// the user confirms a first name, and a sign-in fills a user's empty
// names from the provider without replacing names the user set.
func TestSSONamesFromProvider(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ctx := context.Background()
		idp := apitest.NewIdP(t)
		ts := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp), MultiOrg: true})
		idp.SignInAs(apitest.IdpUser{Sub: "c-1", Email: "carol@startup.test", Verified: true, Name: "Carol Newcomer"})
		c := apitest.NewBrowser(t, ts)
		loc := c.SocialLogin("/login/acme-sso/")
		if apitest.MustQuery(t, loc, "first_name") != "Carol" {
			t.Fatalf("confirm step: %s", loc)
		}
		if resp, body := c.Send("POST", "/api/social_signup", `{"organization_name":"Startup","first_name":"Carol"}`, false); resp.StatusCode != 201 {
			t.Fatalf("social signup: %d %v", resp.StatusCode, body)
		}
		u, err := ts.Store.UserByEmail(ctx, "carol@startup.test")
		if err != nil || u.FirstName != "Carol" || u.LastName != "Newcomer" {
			t.Fatalf("confirmed user: %+v %v", u, err)
		}

		// An existing user without a last name gets the provider's; the
		// first name they chose stays.
		if err := ts.Store.UpdateUserNames(ctx, ts.User.ID, "Boss", ""); err != nil {
			t.Fatal(err)
		}
		idp.SignInAs(apitest.IdpUser{Sub: "o-1", Email: "owner@example.com", Verified: true, Name: "Olive Owner"})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).SocialLogin("/login/acme-sso/"), "/")
		if u, _ := ts.Store.UserByID(ctx, ts.User.ID); u.FirstName != "Boss" || u.LastName != "Owner" {
			t.Fatalf("after first SSO login: %q %q", u.FirstName, u.LastName)
		}
		// Later logins through the same link fill names emptied since.
		if err := ts.Store.UpdateUserNames(ctx, ts.User.ID, "", ""); err != nil {
			t.Fatal(err)
		}
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).SocialLogin("/login/acme-sso/"), "/")
		if u, _ := ts.Store.UserByID(ctx, ts.User.ID); u.FirstName != "Olive" || u.LastName != "Owner" {
			t.Fatalf("after a linked SSO login: %q %q", u.FirstName, u.LastName)
		}
	})
}

// A browser at 127.0.0.1 with SITE_URL on localhost (same port) is sent
// to localhost before a sign-in flow starts, so the flow's cookies are set
// on the host the IdP returns to; the API and callbacks are not moved,
// and a SITE_URL that is not a loopback name changes nothing.
func TestSSOFlowsStartOnSiteHost(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "starts every kind of single sign-on flow on two hosts, both engines")
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{SiteURL: "http://localhost:{port}"})
	u, _ := url.Parse(ts.URL)
	b := apitest.NewBrowser(t, ts)
	for path, moved := range map[string]bool{"/login/saml/?email=a%40acme.example": true, "/login": true, "/settings": true, "/": true,
		"/api/users/@me/": false, "/complete/saml/": false} {
		resp := b.Get("http://127.0.0.1:" + u.Port() + path)
		loc := resp.Header.Get("Location")
		if got := strings.HasPrefix(loc, "http://localhost:"+u.Port()+path); got != moved {
			t.Errorf("%s: %d %q, moved %v", path, resp.StatusCode, loc, moved)
		}
	}
	other := apitest.NewServer(t, store.SQLite, apitest.Options{})
	if loc := apitest.NewBrowser(t, other).Get("/login").Header.Get("Location"); loc != "" {
		t.Errorf("SITE_URL on another host: redirected to %q", loc)
	}
}
