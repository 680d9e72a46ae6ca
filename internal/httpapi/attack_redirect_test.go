package httpapi_test

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// openRedirectValues are next values that try to leave the site: protocol-
// relative, backslash, scheme without slashes, encoded slashes, script
// and data URLs, whitespace browsers drop, and encoded CR/LF.
var openRedirectValues = []string{
	"//evil.example",
	"///evil.example",
	"/\\evil.example",
	"\\\\evil.example",
	"/\\/evil.example",
	"https:evil.example",
	"https://evil.example/",
	"HTTPS://evil.example",
	"https://gatehouse.example.com@evil.example/",
	"%2F%2Fevil.example",
	"/%2F%2Fevil.example",
	"%2F%5Cevil.example",
	"javascript:alert(document.domain)",
	"JaVaScRiPt:alert(1)",
	"data:text/html,<script>alert(1)</script>",
	"/\t/evil.example",
	"\t//evil.example",
	" //evil.example",
	"/\r\nLocation: https://evil.example",
	"/%0d%0aLocation:%20https://evil.example",
	"/\x00//evil.example",
}

// sameSitePath reports whether a Location (or next) value can only lead to
// a path of this site.
func sameSitePath(loc string) bool {
	if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsRune(loc, '\\') {
		return false
	}
	for _, c := range loc {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	u, err := url.Parse(loc)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// wantSameSite fails unless loc, and the next parameter it may carry, stay
// on this site.
func wantSameSite(t *testing.T, what, loc string) {
	t.Helper()
	if !sameSitePath(loc) {
		t.Errorf("%s: redirected to %q", what, loc)
		return
	}
	if u, _ := url.Parse(loc); u != nil {
		if next := u.Query().Get("next"); next != "" && !sameSitePath(next) {
			t.Errorf("%s: redirected to %q, whose next is %q", what, loc, next)
		}
	}
}

var hiddenNextRE = regexp.MustCompile(`name="next" value="([^"]*)"`)

// TestAttackOpenRedirect: every next parameter (login page and form, the
// 2FA step's page and form, social login and a social signup's confirm
// step) only ever sends the browser to
// a path of this site, whatever it is given.
func TestAttackOpenRedirect(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		idp := apitest.NewIdP(t)
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now, Social: apitest.SocialProviders(idp)})
		owner := apitest.OwnerBrowser(t, ts)
		twofa := apitest.JoinByInvite(t, ts, owner, "twofa@example.com", 1)
		secret, _ := apitest.EnableTOTP(t, twofa, clock.Now())
		apitest.VerifyDomain(t, ts, "acme.test", true, "")
		idp.SignInAs(apitest.IdpUser{Sub: "101", Email: "grace@acme.test", Verified: true, Name: "Grace Hopper"})
		for _, next := range openRedirectValues {
			if strings.ContainsRune(next, 0) || !utf8.ValidString(next) {
				// Bad bytes are refused where input is decoded: no page,
				// no redirect.
				resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/login?next="+url.QueryEscape(next), nil)
				if resp.StatusCode != 400 {
					t.Errorf("login page with next=%q: %d, want 400", next, resp.StatusCode)
				}
				continue
			}
			// The login page keeps only a safe next in its form.
			b := apitest.NewBrowser(t, ts)
			resp, page := b.Page("GET", "/login?next="+url.QueryEscape(next), nil)
			if m := hiddenNextRE.FindStringSubmatch(page); resp.StatusCode != 200 || m != nil && !sameSitePath(html.UnescapeString(m[1])) {
				t.Errorf("login page with next=%q: %d, form next %q", next, resp.StatusCode, m)
			}
			// The login form redirects to a path of this site.
			form := url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, page)}, "email": {"owner@example.com"}, "password": {apitest.OwnerPassword}, "next": {next}}
			resp, _ = b.Page("POST", "/login", form)
			if resp.StatusCode != 303 {
				t.Errorf("login form with next=%q: %d", next, resp.StatusCode)
			}
			wantSameSite(t, "login form next="+next, resp.Header.Get("Location"))

			// With 2FA: the redirect to the second step, its page, and its form.
			b = apitest.NewBrowser(t, ts)
			_, page = b.Page("GET", "/login", nil)
			form = url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, page)}, "email": {"twofa@example.com"}, "password": {apitest.GoodPassword}, "next": {next}}
			resp, _ = b.Page("POST", "/login", form)
			wantSameSite(t, "2FA step redirect next="+next, resp.Header.Get("Location"))
			resp, page = b.Page("GET", "/login/token?next="+url.QueryEscape(next), nil)
			if m := hiddenNextRE.FindStringSubmatch(page); resp.StatusCode != 200 || m != nil && !sameSitePath(html.UnescapeString(m[1])) {
				t.Errorf("2FA page with next=%q: %d, form next %q", next, resp.StatusCode, m)
			}
			clock.Add(30 * time.Second) // a fresh TOTP code each round
			form = url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, page)}, "token": {clock.Code(secret)}, "next": {next}}
			resp, _ = b.Page("POST", "/login/token", form)
			if resp.StatusCode != 303 {
				t.Errorf("2FA form with next=%q: %d", next, resp.StatusCode)
			}
			wantSameSite(t, "2FA form next="+next, resp.Header.Get("Location"))
			// The second step's page without a pending login sends back
			// to the login page, keeping only a safe next.
			resp, _ = apitest.NewBrowser(t, ts).Page("GET", "/login/token?next="+url.QueryEscape(next), nil)
			wantSameSite(t, "2FA page without a pending login next="+next, resp.Header.Get("Location"))

			// Social login.
			wantSameSite(t, "social login next="+next, apitest.NewBrowser(t, ts).SocialLogin("/login/github/?next="+url.QueryEscape(next)))
		}
		// A social signup's confirm step (MULTI_ORG_ENABLED) carries next
		// to its continue_url.
		multi := apitest.NewServer(t, engine, apitest.Options{Social: apitest.SocialProviders(idp), MultiOrg: true})
		for i, next := range openRedirectValues {
			if strings.ContainsRune(next, 0) || !utf8.ValidString(next) {
				continue // refused at decoding, checked above
			}
			idp.SignInAs(apitest.IdpUser{Sub: fmt.Sprint(1000 + i), Email: fmt.Sprintf("founder%d@startup.test", i), Verified: true, Name: "Fay Founder"})
			c := apitest.NewBrowser(t, multi)
			loc := c.SocialLogin("/login/gitlab/?next=" + url.QueryEscape(next))
			if !strings.HasPrefix(loc, "/organization/confirm-creation?") {
				t.Fatalf("confirm step: %s", loc)
			}
			wantSameSite(t, "confirm step next="+next, loc)
			resp, body := c.Send("POST", "/api/social_signup", `{"organization_name":"Startup","first_name":"Fay"}`, false)
			if resp.StatusCode != 201 {
				t.Fatalf("social signup: %d %v", resp.StatusCode, body)
			}
			cont, _ := body["continue_url"].(string)
			wantSameSite(t, "social signup continue_url next="+next, cont)
		}

		// The controls: a same-site next is kept.
		b := apitest.NewBrowser(t, ts)
		_, page := b.Page("GET", "/login?next=/settings", nil)
		form := url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, page)}, "email": {"owner@example.com"}, "password": {apitest.OwnerPassword}, "next": {"/settings"}}
		if resp, _ := b.Page("POST", "/login", form); resp.Header.Get("Location") != "/settings" {
			t.Errorf("control: %q", resp.Header.Get("Location"))
		}
		idp.SignInAs(apitest.IdpUser{Sub: "999", Email: "control@startup.test", Verified: true, Name: "Fay Founder"})
		c := apitest.NewBrowser(t, multi)
		c.SocialLogin("/login/gitlab/?next=/settings")
		if resp, body := c.Send("POST", "/api/social_signup", `{"organization_name":"Startup","first_name":"Fay"}`, false); resp.StatusCode != 201 || body["continue_url"] != "/settings" {
			t.Errorf("control: social signup %d %v", resp.StatusCode, body)
		}
		idp.SignInAs(apitest.IdpUser{Sub: "101", Email: "grace@acme.test", Verified: true, Name: "Grace Hopper"})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).SocialLogin("/login/github/?next=/settings"), "/settings")
	})
}
