package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func errorCodeLocation(code string) string { return "/login?error_code=" + code }

func TestSocialGitHubJITUnverifiedAndEnforcement(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := apitest.NewIdP(t)
		ts := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp)})
		apitest.VerifyDomain(t, ts, "acme.test", true, "")

		// GitHub's primary address is not verified: no account, and the
		// public profile email (which names the owner) is never used.
		idp.SignInAs(apitest.IdpUser{Sub: "101", Email: "grace@acme.test", Verified: false, Name: "Grace Hopper", ExtraEmails: []string{"owner@example.com"}})
		b := apitest.NewBrowser(t, ts)
		apitest.WantLocation(t, b.SocialLogin("/login/github/"), errorCodeLocation("email_not_verified"))
		if _, err := ts.Store.UserByEmail(context.Background(), "grace@acme.test"); err == nil {
			t.Fatal("an unverified provider email created an account")
		}
		if status, _ := b.Me(); status != 401 {
			t.Fatalf("signed in after a refusal: %d", status)
		}

		// Verified: a new member of acme by JIT provisioning.
		idp.SignInAs(apitest.IdpUser{Sub: "101", Email: "grace@acme.test", Verified: true, Name: "Grace Hopper"})
		apitest.WantLocation(t, b.SocialLogin("/login/github/?next=/settings"), "/settings")
		if status, email := b.Me(); status != 200 || email != "grace@acme.test" {
			t.Fatalf("after JIT: %d %s", status, email)
		}
		u, _ := ts.Store.UserByEmail(context.Background(), "grace@acme.test")
		if u.CurrentOrganizationID != ts.User.CurrentOrganizationID || u.PasswordHash != "" {
			t.Fatalf("JIT user: %+v", u)
		}
		// A new account gets the link notice, not a new-device notice.
		if ms := ts.Mail.Messages(); len(ms) != 1 || ms[0].To != "grace@acme.test" || !strings.Contains(ms[0].Subject, "linked") {
			t.Fatalf("notices after JIT: %+v", ms)
		}

		// The domain now enforces Google: GitHub is refused, Google works.
		apitest.VerifyDomain(t, ts, "acme.test", true, "google-oauth2")
		b2 := apitest.NewBrowser(t, ts)
		apitest.WantLocation(t, b2.SocialLogin("/login/github/"), errorCodeLocation("google_sso_enforced"))
		idp.SignInAs(apitest.IdpUser{Sub: "g-101", Email: "grace@acme.test", Verified: true, Name: "Grace Hopper"})
		apitest.WantLocation(t, b2.SocialLogin("/login/google-oauth2/"), "/")
		if status, email := b2.Me(); status != 200 || email != "grace@acme.test" {
			t.Fatalf("enforced provider: %d %s", status, email)
		}
		// A password login is refused too (the password path already knew).
		if resp, body := apitest.NewBrowser(t, ts).Login("grace@acme.test", "whatever password 1"); resp.StatusCode != 400 || body["code"] != "sso_enforced" {
			t.Fatalf("password under enforcement: %d %v", resp.StatusCode, body)
		}
	})
}

func TestSocialOIDCStateReplayAndLinkByEmail(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := apitest.NewIdP(t)
		ts := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp)})
		b := apitest.NewBrowser(t, ts)

		// Unknown and unconfigured providers.
		apitest.WantLocation(t, b.Get("/login/nope/").Header.Get("Location"), errorCodeLocation("invalid_sso_provider"))
		ts2 := apitest.NewServer(t, engine, apitest.Options{})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts2).Get("/login/gitlab/").Header.Get("Location"), errorCodeLocation("improperly_configured_sso"))

		// A callback whose state is not this browser's is refused.
		idp.SignInAs(apitest.IdpUser{Sub: "o-1", Email: "owner@example.com", Verified: true, Name: "Owner"})
		callback := b.SocialRound("/login/google-oauth2/")
		if idp.LastAuthorize.Get("nonce") == "" || idp.LastAuthorize.Get("code_challenge") == "" {
			t.Fatalf("no nonce or PKCE: %v", idp.LastAuthorize)
		}
		tampered, _ := url.Parse(callback)
		q := tampered.Query()
		q.Set("state", "attacker-state")
		tampered.RawQuery = q.Encode()
		apitest.WantLocation(t, b.Get(tampered.String()).Header.Get("Location"), errorCodeLocation("invalid_state"))
		// Another browser (no flow cookie) cannot use a victim's callback.
		callback = b.SocialRound("/login/google-oauth2/")
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).Get(callback).Header.Get("Location"), errorCodeLocation("invalid_state"))
		// No code.
		callback = b.SocialRound("/login/google-oauth2/")
		noCode, _ := url.Parse(callback)
		q = noCode.Query()
		q.Del("code")
		noCode.RawQuery = q.Encode()
		apitest.WantLocation(t, b.Get(noCode.String()).Header.Get("Location"), errorCodeLocation("missing_code"))

		// The owner (a password account whose email was never verified)
		// signs in with Google: linked by the verified email, and the
		// password that someone else might have set stops working.
		flowCookie := ""
		callback = b.SocialRound("/login/google-oauth2/")
		flowCookie = b.Cookie(web.SocialFlowCookie)
		apitest.WantLocation(t, b.Get(callback).Header.Get("Location"), "/")
		if status, email := b.Me(); status != 200 || email != "owner@example.com" {
			t.Fatalf("link by email: %d %s", status, email)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode == 200 {
			t.Fatal("the unverified account's password still works after the provider claimed it")
		}
		// Replaying the same callback with the same flow cookie is refused
		// before the provider is asked again.
		idp.Mu.Lock()
		calls := idp.TokenCalls
		idp.Mu.Unlock()
		replay := apitest.NewBrowser(t, ts)
		replay.SetCookie(web.SocialFlowCookie, flowCookie)
		apitest.WantLocation(t, replay.Get(callback).Header.Get("Location"), errorCodeLocation("invalid_state"))
		idp.Mu.Lock()
		if idp.TokenCalls != calls {
			t.Fatal("a replayed callback reached the token endpoint")
		}
		idp.Mu.Unlock()
		// A code replayed into a fresh flow is refused by the provider
		// (used, and bound to another PKCE verifier).
		fresh := apitest.NewBrowser(t, ts)
		next := fresh.SocialRound("/login/google-oauth2/")
		nu, _ := url.Parse(next)
		oldCode := apitest.MustQuery(t, callback, "code")
		q = nu.Query()
		q.Set("code", oldCode)
		nu.RawQuery = q.Encode()
		apitest.WantLocation(t, fresh.Get(nu.String()).Header.Get("Location"), errorCodeLocation("invalid_code"))

		// Custom OIDC and plain OAuth2 providers sign the same person in
		// through their own links.
		for _, backend := range []string{"acme-sso", "plain"} {
			idp.SignInAs(apitest.IdpUser{Sub: backend + "-1", Email: "owner@example.com", Verified: true, Name: "Owner"})
			c := apitest.NewBrowser(t, ts)
			apitest.WantLocation(t, c.SocialLogin("/login/"+backend+"/"), "/")
			if status, email := c.Me(); status != 200 || email != "owner@example.com" {
				t.Fatalf("%s: %d %s", backend, status, email)
			}
			idp.SignInAs(apitest.IdpUser{Sub: backend + "-2", Email: "owner@example.com", Verified: false, Name: "Owner"})
			apitest.WantLocation(t, apitest.NewBrowser(t, ts).SocialLogin("/login/"+backend+"/"), errorCodeLocation("email_not_verified"))
		}
	})
}

func TestSocialGitLabInviteAndSignup(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := apitest.NewIdP(t)
		ts := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp)})
		// GitLab's unconfirmed email is refused; without JIT or invites a
		// new user cannot get in on a single-organization instance.
		idp.SignInAs(apitest.IdpUser{Sub: "7", Email: "lin@outside.test", Verified: false, Name: "Lin"})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).SocialLogin("/login/gitlab/"), errorCodeLocation("email_not_verified"))
		idp.SignInAs(apitest.IdpUser{Sub: "7", Email: "lin@outside.test", Verified: true, Name: "Lin"})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).SocialLogin("/login/gitlab/"), errorCodeLocation("no_new_organizations"))

		// An invite carried through the round trip lets them in.
		now := time.Now().UTC()
		inv := &gatehouse.Invite{ID: gatehouse.NewInviteID(), OrganizationID: ts.User.CurrentOrganizationID, TargetEmail: "lin@outside.test",
			Level: gatehouse.LevelMember, CreatedByUserID: ts.User.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := ts.Store.CreateInvite(context.Background(), inv); err != nil {
			t.Fatal(err)
		}
		b := apitest.NewBrowser(t, ts)
		apitest.WantLocation(t, b.SocialLogin("/login/gitlab/?invite_id="+inv.ID), "/")
		if status, email := b.Me(); status != 200 || email != "lin@outside.test" {
			t.Fatalf("invite: %d %s", status, email)
		}

		// With MULTI_ORG_ENABLED a new identity goes to the confirm step.
		ts2 := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp), MultiOrg: true})
		idp.SignInAs(apitest.IdpUser{Sub: "8", Email: "founder@startup.test", Verified: true, Name: "Fay Founder"})
		c := apitest.NewBrowser(t, ts2)
		loc := c.SocialLogin("/login/gitlab/")
		if !strings.HasPrefix(loc, "/organization/confirm-creation?") || apitest.MustQuery(t, loc, "email") != "founder@startup.test" {
			t.Fatalf("confirm step: %s", loc)
		}
		if resp, body := apitest.NewBrowser(t, ts2).Send("POST", "/api/social_signup", `{"organization_name":"Startup"}`, false); resp.StatusCode != 400 ||
			!strings.Contains(body["detail"].(string), "Inactive social login session") {
			t.Fatalf("signup without a pending login: %d %v", resp.StatusCode, body)
		}
		resp, body := c.Send("POST", "/api/social_signup", `{"organization_name":"Startup","first_name":"Fay"}`, false)
		if resp.StatusCode != 201 || body["continue_url"] != "/" {
			t.Fatalf("social signup: %d %v", resp.StatusCode, body)
		}
		if status, email := c.Me(); status != 200 || email != "founder@startup.test" {
			t.Fatalf("after social signup: %d %s", status, email)
		}
		// The pending login was used up.
		if resp, _ := c.Send("POST", "/api/social_signup", `{"organization_name":"Again"}`, false); resp.StatusCode != 400 {
			t.Fatalf("second social signup: %d", resp.StatusCode)
		}
	})
}

func TestSocialAccountLinking(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := apitest.NewIdP(t)
		ts := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp)})
		b := apitest.NewBrowser(t, ts)
		if resp, _ := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("login: %d", resp.StatusCode)
		}
		connect := func(backend string) string {
			t.Helper()
			resp, _ := b.Send("POST", "/connect/"+backend+"/", "", true, "Content-Type", "application/x-www-form-urlencoded")
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("connect: %d", resp.StatusCode)
			}
			resp = b.Get(resp.Header.Get("Location"))
			return b.Get(resp.Header.Get("Location")).Header.Get("Location")
		}
		// Without the CSRF token nothing starts.
		if resp, _ := b.Send("POST", "/connect/github/", "", false); resp.StatusCode != 403 {
			t.Fatalf("connect without CSRF: %d", resp.StatusCode)
		}
		idp.SignInAs(apitest.IdpUser{Sub: "55", Email: "someone@else.test", Verified: true, Name: "Someone"})
		apitest.WantLocation(t, connect("github"), "/settings?error_code=email_mismatch")
		idp.SignInAs(apitest.IdpUser{Sub: "55", Email: "owner@example.com", Verified: true, Name: "Owner"})
		before := len(ts.Mail.Messages())
		if loc := connect("github"); loc != "/settings?backend=github&done=linked" {
			t.Fatalf("link: %s", loc)
		}
		if _, page := b.Page("GET", "/settings?backend=github&done=linked", nil); !strings.Contains(page, "Your GitHub account was linked.") {
			t.Fatalf("settings after linking:\n%s", page)
		}
		if ms := ts.Mail.Messages(); len(ms) != before+1 || ms[before].To != "owner@example.com" || !strings.Contains(ms[before].Subject, "linked") {
			t.Fatalf("link notice: %+v", ms)
		}
		resp, body := b.Send("GET", web.SocialAccountsPath+"/", "", false)
		results, _ := body["results"].([]any)
		if resp.StatusCode != 200 || len(results) != 1 || results[0].(map[string]any)["provider"] != "github" {
			t.Fatalf("list: %d %v", resp.StatusCode, body)
		}
		id := results[0].(map[string]any)["id"].(string)
		// The same GitHub identity cannot be linked by another user.
		if _, err := ts.Store.SocialLinkByUID(context.Background(), "github", "55"); err != nil {
			t.Fatal(err)
		}
		// Without a password, the only link is the last way in.
		if err := ts.Store.SetPasswordHash(context.Background(), ts.User.ID, ""); err != nil {
			t.Fatal(err)
		}
		if resp, body := b.Send("DELETE", web.SocialAccountsPath+"/"+id+"/", "", true); resp.StatusCode != 400 || body["code"] != "last_login_method" {
			t.Fatalf("unlink the last way in: %d %v", resp.StatusCode, body)
		}
		idp.SignInAs(apitest.IdpUser{Sub: "g-55", Email: "owner@example.com", Verified: true, Name: "Owner"})
		connect("google-oauth2")
		resp, _ = b.Send("POST", "/disconnect/github/", "", true, "Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings?backend=github&done=unlinked" {
			t.Fatalf("disconnect: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		_, body = b.Send("GET", web.SocialAccountsPath, "", false)
		if results, _ := body["results"].([]any); len(results) != 1 || results[0].(map[string]any)["provider"] != "google-oauth2" {
			t.Fatalf("after disconnect: %v", body)
		}
		// The settings page lists the link with an unlink button and offers
		// the other providers; its unlink form refuses the last way in.
		unlink := "/disconnect/google-oauth2/" + body["results"].([]any)[0].(map[string]any)["id"].(string)
		resp, html := b.Page("GET", "/settings", nil)
		if resp.StatusCode != 200 || !strings.Contains(html, `action="`+unlink+`"`) || !strings.Contains(html, `action="/connect/github"`) {
			t.Fatalf("settings page: %d\n%s", resp.StatusCode, html)
		}
		resp, _ = b.Submit("/settings", unlink, map[string]string{})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/settings?error_code=last_login_method" {
			t.Fatalf("unlink the last way in from the page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, html := b.Page("GET", resp.Header.Get("Location"), nil); !strings.Contains(html, `class="error"`) {
			t.Fatalf("the refusal is not shown:\n%s", html)
		}
		// Anonymous requests are refused.
		if resp, _ := apitest.NewBrowser(t, ts).Send("GET", web.SocialAccountsPath, "", false); resp.StatusCode != 401 {
			t.Fatalf("anonymous list: %d", resp.StatusCode)
		}
	})
}

func TestSocialLoginPageListsProviders(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		idp := apitest.NewIdP(t)
		ts := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp)})
		resp, body := ts.Do(t, "GET", "/login?error_code=github_sso_enforced", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `href="/login/github/"`) || !strings.Contains(body, "Continue with Acme SSO") ||
			!strings.Contains(body, "requires signing in with GitHub") {
			t.Fatalf("login page: %d %s", resp.StatusCode, body)
		}
	})
}
