package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

const testSiteURL = "https://gatehouse.example.com"

// socialProviders configures every kind of provider against idp.
func socialProviders(idp *testIdP) []config.SocialProvider {
	base := config.SocialProvider{ClientID: idp.clientID, ClientSecret: gatehouse.Secret(idp.secret)}
	gh, gl, google, custom, plain := base, base, base, base, base
	gh.Name, gh.Kind, gh.DisplayName, gh.APIURL, gh.AuthURL, gh.TokenURL = "github", config.ProviderGitHub, "GitHub", idp.srv.URL+"/api", idp.srv.URL+"/login/oauth/authorize", idp.srv.URL+"/login/oauth/access_token"
	gh.Scopes = []string{"user:email"}
	gl.Name, gl.Kind, gl.DisplayName, gl.APIURL, gl.AuthURL, gl.TokenURL = "gitlab", config.ProviderGitLab, "GitLab", idp.srv.URL, idp.srv.URL+"/oauth/authorize", idp.srv.URL+"/oauth/token"
	google.Name, google.Kind, google.DisplayName, google.Issuer = "google-oauth2", config.ProviderOIDC, "Google", idp.srv.URL
	google.Scopes = []string{"openid", "email", "profile"}
	custom.Name, custom.Kind, custom.DisplayName, custom.Issuer = "acme-sso", config.ProviderOIDC, "Acme SSO", idp.srv.URL
	custom.Scopes = google.Scopes
	plain.Name, plain.Kind, plain.DisplayName = "plain", config.ProviderOAuth2, "Plain"
	plain.AuthURL, plain.TokenURL, plain.UserinfoURL = idp.srv.URL+"/authorize", idp.srv.URL+"/token", idp.srv.URL+"/userinfo"
	return []config.SocialProvider{gh, gl, google, custom, plain}
}

// get requests an absolute URL (Gatehouse's own public URL is mapped to
// the test server) without following redirects.
func (b *browser) get(raw string) *http.Response {
	b.t.Helper()
	raw = strings.Replace(raw, testSiteURL, b.ts.url, 1)
	if strings.HasPrefix(raw, "/") {
		raw = b.ts.url + raw
	}
	resp, err := b.client.Get(raw)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// socialRound starts at start (a Gatehouse path), signs in at the IdP and
// returns the callback URL the IdP sent the browser to.
func (b *browser) socialRound(start string) string {
	b.t.Helper()
	resp := b.get(start)
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("begin %s: %d %s", start, resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = b.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("authorize: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// socialLogin runs a whole round trip and returns where Gatehouse sent the
// browser at the end.
func (b *browser) socialLogin(start string) string {
	b.t.Helper()
	resp := b.get(b.socialRound(start))
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("complete: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func wantLocation(t *testing.T, got, want string) {
	t.Helper()
	// A failure names its provider; compare without it unless want does.
	if i := strings.Index(got, "&provider="); i >= 0 && !strings.Contains(want, "provider=") {
		got = got[:i]
	}
	if got != want {
		t.Fatalf("redirected to %q, want %q", got, want)
	}
}

func errorCodeLocation(code string) string { return "/login?error_code=" + code }

func verifyDomain(t *testing.T, ts *testServer, domain string, jit bool, enforce string) {
	t.Helper()
	ctx := context.Background()
	d, err := ts.store.DomainByName(ctx, domain)
	if err != nil {
		d = &gatehouse.OrganizationDomain{ID: gatehouse.NewUUID(), OrganizationID: ts.user.CurrentOrganizationID, Domain: domain, VerificationChallenge: "c", CreatedAt: time.Now()}
		if err := ts.store.CreateDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	d.VerifiedAt, d.JITProvisioningEnabled, d.SSOEnforcement = &now, jit, enforce
	if err := ts.store.UpdateDomain(ctx, d); err != nil {
		t.Fatal(err)
	}
}

func (b *browser) me() (int, string) {
	resp, body := b.send("GET", "/api/users/@me/", "", false)
	email, _ := body["email"].(string)
	return resp.StatusCode, email
}

func TestSocialGitHubJITUnverifiedAndEnforcement(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := newTestIdP(t)
		ts := newTestServer(t, engine, serverOptions{social: socialProviders(idp)})
		verifyDomain(t, ts, "acme.test", true, "")

		// GitHub's primary address is not verified: no account, and the
		// public profile email (which names the owner) is never used.
		idp.signInAs(idpUser{Sub: "101", Email: "grace@acme.test", Verified: false, Name: "Grace Hopper", ExtraEmails: []string{"owner@example.com"}})
		b := newBrowser(t, ts)
		wantLocation(t, b.socialLogin("/login/github/"), errorCodeLocation("email_not_verified"))
		if _, err := ts.store.UserByEmail(context.Background(), "grace@acme.test"); err == nil {
			t.Fatal("an unverified provider email created an account")
		}
		if status, _ := b.me(); status != 401 {
			t.Fatalf("signed in after a refusal: %d", status)
		}

		// Verified: a new member of acme by JIT provisioning.
		idp.signInAs(idpUser{Sub: "101", Email: "grace@acme.test", Verified: true, Name: "Grace Hopper"})
		wantLocation(t, b.socialLogin("/login/github/?next=/settings"), "/settings")
		if status, email := b.me(); status != 200 || email != "grace@acme.test" {
			t.Fatalf("after JIT: %d %s", status, email)
		}
		u, _ := ts.store.UserByEmail(context.Background(), "grace@acme.test")
		if u.CurrentOrganizationID != ts.user.CurrentOrganizationID || u.PasswordHash != "" {
			t.Fatalf("JIT user: %+v", u)
		}
		// A new account gets the link notice, not a new-device notice.
		if ms := ts.mail.messages(); len(ms) != 1 || ms[0].To != "grace@acme.test" || !strings.Contains(ms[0].Subject, "linked") {
			t.Fatalf("notices after JIT: %+v", ms)
		}

		// The domain now enforces Google: GitHub is refused, Google works.
		verifyDomain(t, ts, "acme.test", true, "google-oauth2")
		b2 := newBrowser(t, ts)
		wantLocation(t, b2.socialLogin("/login/github/"), errorCodeLocation("google_sso_enforced"))
		idp.signInAs(idpUser{Sub: "g-101", Email: "grace@acme.test", Verified: true, Name: "Grace Hopper"})
		wantLocation(t, b2.socialLogin("/login/google-oauth2/"), "/")
		if status, email := b2.me(); status != 200 || email != "grace@acme.test" {
			t.Fatalf("enforced provider: %d %s", status, email)
		}
		// A password login is refused too (the password path already knew).
		if resp, body := newBrowser(t, ts).login("grace@acme.test", "whatever password 1"); resp.StatusCode != 400 || body["code"] != "sso_enforced" {
			t.Fatalf("password under enforcement: %d %v", resp.StatusCode, body)
		}
	})
}

func TestSocialOIDCStateReplayAndLinkByEmail(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := newTestIdP(t)
		ts := newTestServer(t, engine, serverOptions{social: socialProviders(idp)})
		b := newBrowser(t, ts)

		// Unknown and unconfigured providers.
		wantLocation(t, b.get("/login/nope/").Header.Get("Location"), errorCodeLocation("invalid_sso_provider"))
		ts2 := newTestServer(t, engine, serverOptions{})
		wantLocation(t, newBrowser(t, ts2).get("/login/gitlab/").Header.Get("Location"), errorCodeLocation("improperly_configured_sso"))

		// A callback whose state is not this browser's is refused.
		idp.signInAs(idpUser{Sub: "o-1", Email: "owner@example.com", Verified: true, Name: "Owner"})
		callback := b.socialRound("/login/google-oauth2/")
		if idp.lastAuthorize.Get("nonce") == "" || idp.lastAuthorize.Get("code_challenge") == "" {
			t.Fatalf("no nonce or PKCE: %v", idp.lastAuthorize)
		}
		tampered, _ := url.Parse(callback)
		q := tampered.Query()
		q.Set("state", "attacker-state")
		tampered.RawQuery = q.Encode()
		wantLocation(t, b.get(tampered.String()).Header.Get("Location"), errorCodeLocation("invalid_state"))
		// Another browser (no flow cookie) cannot use a victim's callback.
		callback = b.socialRound("/login/google-oauth2/")
		wantLocation(t, newBrowser(t, ts).get(callback).Header.Get("Location"), errorCodeLocation("invalid_state"))
		// No code.
		callback = b.socialRound("/login/google-oauth2/")
		noCode, _ := url.Parse(callback)
		q = noCode.Query()
		q.Del("code")
		noCode.RawQuery = q.Encode()
		wantLocation(t, b.get(noCode.String()).Header.Get("Location"), errorCodeLocation("missing_code"))

		// The owner (a password account whose email was never verified)
		// signs in with Google: linked by the verified email, and the
		// password that someone else might have set stops working.
		flowCookie := ""
		callback = b.socialRound("/login/google-oauth2/")
		flowCookie = b.cookie(web.SocialFlowCookie)
		wantLocation(t, b.get(callback).Header.Get("Location"), "/")
		if status, email := b.me(); status != 200 || email != "owner@example.com" {
			t.Fatalf("link by email: %d %s", status, email)
		}
		if resp, _ := newBrowser(t, ts).login("owner@example.com", ownerPassword); resp.StatusCode == 200 {
			t.Fatal("the unverified account's password still works after the provider claimed it")
		}
		// Replaying the same callback with the same flow cookie is refused
		// before the provider is asked again.
		idp.mu.Lock()
		calls := idp.tokenCalls
		idp.mu.Unlock()
		replay := newBrowser(t, ts)
		replay.setCookie(web.SocialFlowCookie, flowCookie)
		wantLocation(t, replay.get(callback).Header.Get("Location"), errorCodeLocation("invalid_state"))
		idp.mu.Lock()
		if idp.tokenCalls != calls {
			t.Fatal("a replayed callback reached the token endpoint")
		}
		idp.mu.Unlock()
		// A code replayed into a fresh flow is refused by the provider
		// (used, and bound to another PKCE verifier).
		fresh := newBrowser(t, ts)
		next := fresh.socialRound("/login/google-oauth2/")
		nu, _ := url.Parse(next)
		oldCode := mustQuery(t, callback, "code")
		q = nu.Query()
		q.Set("code", oldCode)
		nu.RawQuery = q.Encode()
		wantLocation(t, fresh.get(nu.String()).Header.Get("Location"), errorCodeLocation("invalid_code"))

		// Custom OIDC and plain OAuth2 providers sign the same person in
		// through their own links.
		for _, backend := range []string{"acme-sso", "plain"} {
			idp.signInAs(idpUser{Sub: backend + "-1", Email: "owner@example.com", Verified: true, Name: "Owner"})
			c := newBrowser(t, ts)
			wantLocation(t, c.socialLogin("/login/"+backend+"/"), "/")
			if status, email := c.me(); status != 200 || email != "owner@example.com" {
				t.Fatalf("%s: %d %s", backend, status, email)
			}
			idp.signInAs(idpUser{Sub: backend + "-2", Email: "owner@example.com", Verified: false, Name: "Owner"})
			wantLocation(t, newBrowser(t, ts).socialLogin("/login/"+backend+"/"), errorCodeLocation("email_not_verified"))
		}
	})
}

func mustQuery(t *testing.T, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}

func TestSocialGitLabInviteAndSignup(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := newTestIdP(t)
		ts := newTestServer(t, engine, serverOptions{social: socialProviders(idp)})
		// GitLab's unconfirmed email is refused; without JIT or invites a
		// new user cannot get in on a single-organization instance.
		idp.signInAs(idpUser{Sub: "7", Email: "lin@outside.test", Verified: false, Name: "Lin"})
		wantLocation(t, newBrowser(t, ts).socialLogin("/login/gitlab/"), errorCodeLocation("email_not_verified"))
		idp.signInAs(idpUser{Sub: "7", Email: "lin@outside.test", Verified: true, Name: "Lin"})
		wantLocation(t, newBrowser(t, ts).socialLogin("/login/gitlab/"), errorCodeLocation("no_new_organizations"))

		// An invite carried through the round trip lets them in.
		now := time.Now().UTC()
		inv := &gatehouse.Invite{ID: gatehouse.NewInviteID(), OrganizationID: ts.user.CurrentOrganizationID, TargetEmail: "lin@outside.test",
			Level: gatehouse.LevelMember, CreatedByUserID: ts.user.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := ts.store.CreateInvite(context.Background(), inv); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, ts)
		wantLocation(t, b.socialLogin("/login/gitlab/?invite_id="+inv.ID), "/")
		if status, email := b.me(); status != 200 || email != "lin@outside.test" {
			t.Fatalf("invite: %d %s", status, email)
		}

		// With MULTI_ORG_ENABLED a new identity goes to the confirm step.
		ts2 := newTestServer(t, engine, serverOptions{social: socialProviders(idp), multiOrg: true})
		idp.signInAs(idpUser{Sub: "8", Email: "founder@startup.test", Verified: true, Name: "Fay Founder"})
		c := newBrowser(t, ts2)
		loc := c.socialLogin("/login/gitlab/")
		if !strings.HasPrefix(loc, "/organization/confirm-creation?") || mustQuery(t, loc, "email") != "founder@startup.test" {
			t.Fatalf("confirm step: %s", loc)
		}
		if resp, body := newBrowser(t, ts2).send("POST", "/api/social_signup", `{"organization_name":"Startup"}`, false); resp.StatusCode != 400 ||
			!strings.Contains(body["detail"].(string), "Inactive social login session") {
			t.Fatalf("signup without a pending login: %d %v", resp.StatusCode, body)
		}
		resp, body := c.send("POST", "/api/social_signup", `{"organization_name":"Startup","first_name":"Fay"}`, false)
		if resp.StatusCode != 201 || body["continue_url"] != "/" {
			t.Fatalf("social signup: %d %v", resp.StatusCode, body)
		}
		if status, email := c.me(); status != 200 || email != "founder@startup.test" {
			t.Fatalf("after social signup: %d %s", status, email)
		}
		// The pending login was used up.
		if resp, _ := c.send("POST", "/api/social_signup", `{"organization_name":"Again"}`, false); resp.StatusCode != 400 {
			t.Fatalf("second social signup: %d", resp.StatusCode)
		}
	})
}

func TestSocialAccountLinking(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := newTestIdP(t)
		ts := newTestServer(t, engine, serverOptions{social: socialProviders(idp)})
		b := newBrowser(t, ts)
		if resp, _ := b.login("owner@example.com", ownerPassword); resp.StatusCode != 200 {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		connect := func(backend string) string {
			t.Helper()
			resp, _ := b.send("POST", "/connect/"+backend+"/", "", true, "Content-Type", "application/x-www-form-urlencoded")
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("connect: %d", resp.StatusCode)
			}
			resp = b.get(resp.Header.Get("Location"))
			return b.get(resp.Header.Get("Location")).Header.Get("Location")
		}
		// Without the CSRF token nothing starts.
		if resp, _ := b.send("POST", "/connect/github/", "", false); resp.StatusCode != 403 {
			t.Fatalf("connect without CSRF: %d", resp.StatusCode)
		}
		idp.signInAs(idpUser{Sub: "55", Email: "someone@else.test", Verified: true, Name: "Someone"})
		wantLocation(t, connect("github"), "/settings?error_code=email_mismatch")
		idp.signInAs(idpUser{Sub: "55", Email: "owner@example.com", Verified: true, Name: "Owner"})
		before := len(ts.mail.messages())
		if loc := connect("github"); loc != "/settings?backend=github&done=linked" {
			t.Fatalf("link: %s", loc)
		}
		if _, page := b.page("GET", "/settings?backend=github&done=linked", nil); !strings.Contains(page, "Your GitHub account was linked.") {
			t.Fatalf("settings after linking:\n%s", page)
		}
		if ms := ts.mail.messages(); len(ms) != before+1 || ms[before].To != "owner@example.com" || !strings.Contains(ms[before].Subject, "linked") {
			t.Fatalf("link notice: %+v", ms)
		}
		resp, body := b.send("GET", web.SocialAccountsPath+"/", "", false)
		results, _ := body["results"].([]any)
		if resp.StatusCode != 200 || len(results) != 1 || results[0].(map[string]any)["provider"] != "github" {
			t.Fatalf("list: %d %v", resp.StatusCode, body)
		}
		id := results[0].(map[string]any)["id"].(string)
		// The same GitHub identity cannot be linked by another user.
		if _, err := ts.store.SocialLinkByUID(context.Background(), "github", "55"); err != nil {
			t.Fatal(err)
		}
		// Without a password, the only link is the last way in.
		if err := ts.store.SetPasswordHash(context.Background(), ts.user.ID, ""); err != nil {
			t.Fatal(err)
		}
		if resp, body := b.send("DELETE", web.SocialAccountsPath+"/"+id+"/", "", true); resp.StatusCode != 400 || body["code"] != "last_login_method" {
			t.Fatalf("unlink the last way in: %d %v", resp.StatusCode, body)
		}
		idp.signInAs(idpUser{Sub: "g-55", Email: "owner@example.com", Verified: true, Name: "Owner"})
		connect("google-oauth2")
		resp, _ = b.send("POST", "/disconnect/github/", "", true, "Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings?backend=github&done=unlinked" {
			t.Fatalf("disconnect: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, body = b.send("GET", web.SocialAccountsPath, "", false)
		if results, _ := body["results"].([]any); len(results) != 1 || results[0].(map[string]any)["provider"] != "google-oauth2" {
			t.Fatalf("after disconnect: %v", body)
		}
		// The settings page lists the link with an unlink button and offers
		// the other providers; its unlink form refuses the last way in.
		unlink := "/disconnect/google-oauth2/" + body["results"].([]any)[0].(map[string]any)["id"].(string)
		resp, html := b.page("GET", "/settings", nil)
		if resp.StatusCode != 200 || !strings.Contains(html, `action="`+unlink+`"`) || !strings.Contains(html, `action="/connect/github"`) {
			t.Fatalf("settings page: %d\n%s", resp.StatusCode, html)
		}
		resp, _ = b.submit("/settings", unlink, map[string]string{})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings?error_code=last_login_method" {
			t.Fatalf("unlink the last way in from the page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, html := b.page("GET", resp.Header.Get("Location"), nil); !strings.Contains(html, `class="error"`) {
			t.Fatalf("the refusal is not shown:\n%s", html)
		}
		// Anonymous requests are refused.
		if resp, _ := newBrowser(t, ts).send("GET", web.SocialAccountsPath, "", false); resp.StatusCode != 401 {
			t.Fatalf("anonymous list: %d", resp.StatusCode)
		}
	})
}

func TestSocialLoginPageListsProviders(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := newTestIdP(t)
		ts := newTestServer(t, engine, serverOptions{social: socialProviders(idp)})
		resp, body := ts.do(t, "GET", "/login?error_code=github_sso_enforced", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `href="/login/github/"`) || !strings.Contains(body, "Continue with Acme SSO") ||
			!strings.Contains(body, "requires signing in with GitHub") {
			t.Fatalf("login page: %d %s", resp.StatusCode, body)
		}
	})
}
