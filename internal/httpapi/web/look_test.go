package web_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestSecondStepRememberCheckbox: the second login step remembers the
// browser only when its box is ticked; the API keeps remembering by
// default and forgets with "remember": false.
func TestSecondStepRememberCheckbox(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		secret, _ := apitest.EnableTOTP(t, apitest.OwnerBrowser(t, ts), clock.Now())
		owner := url.Values{"email": {"owner@example.com"}, "password": {apitest.OwnerPassword}}

		// pageLogin signs in through the pages and reports whether the
		// second step was asked for and whether its answer set the
		// remember cookie.
		pageLogin := func(b *apitest.Browser, remember bool) (asked, remembered bool) {
			t.Helper()
			resp, _ := b.PageForm("/login", "/login", owner)
			if resp.StatusCode != 303 {
				t.Fatalf("password step: %d", resp.StatusCode)
			}
			if resp.Header.Get("Location") == "/" {
				return false, false
			}
			resp, page := b.Page("GET", resp.Header.Get("Location"), nil)
			if resp.StatusCode != 200 || !strings.Contains(page, "Step 2 of 2") ||
				!strings.Contains(page, `name="remember" value="on">`) || !strings.Contains(page, "Remember this browser for 30 days") {
				t.Fatalf("second step page: %d\n%s", resp.StatusCode, page)
			}
			clock.Add(30 * time.Second)
			form := url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, page)}, "token": {clock.Code(secret)}}
			if remember {
				form.Set("remember", "on")
			}
			resp, _ = b.Page("POST", "/login/token", form)
			if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" || b.Cookie("sessionid") == "" {
				t.Fatalf("second step: %d %v", resp.StatusCode, resp.Header)
			}
			return true, apitest.SetCookieHeader(resp, httpauth.RememberCookiePrefix) != ""
		}
		logout := func(b *apitest.Browser) {
			t.Helper()
			_, home := b.Page("GET", "/", nil)
			if resp, _ := b.Page("POST", "/logout", url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, home)}}); resp.StatusCode != 303 {
				t.Fatalf("logout: %d", resp.StatusCode)
			}
		}

		// Unticked: signed in, not remembered, asked again next time.
		b := apitest.NewBrowser(t, ts)
		if asked, remembered := pageLogin(b, false); !asked || remembered {
			t.Fatalf("unticked box: asked %v, remembered %v", asked, remembered)
		}
		logout(b)
		if asked, remembered := pageLogin(b, true); !asked || !remembered {
			t.Fatalf("after an unticked box the step must come again, then the ticked box remembers: asked %v, remembered %v", asked, remembered)
		}
		logout(b)
		if asked, _ := pageLogin(b, false); asked {
			t.Fatal("the remembered browser was asked for the second step again")
		}

		// A wrong code keeps the box as the person left it.
		c := apitest.NewBrowser(t, ts)
		resp, _ := c.PageForm("/login", "/login", owner)
		_, page := c.Page("GET", resp.Header.Get("Location"), nil)
		resp, page = c.Page("POST", "/login/token", url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, page)}, "token": {"000000"}, "remember": {"on"}})
		if resp.StatusCode != 400 || !strings.Contains(page, `id="token-error">Invalid authentication code<`) || !strings.Contains(page, `value="on" checked>`) {
			t.Fatalf("wrong code: %d\n%s", resp.StatusCode, page)
		}

		// The API: remembered by default, not with "remember": false.
		for _, tc := range []struct {
			body string
			want bool
		}{{`{"token":"%s"}`, true}, {`{"token":"%s","remember":true}`, true}, {`{"token":"%s","remember":false}`, false}} {
			a := apitest.NewBrowser(t, ts)
			resp, body := a.Login("owner@example.com", apitest.OwnerPassword)
			apitest.WantCode(t, "password step", resp, body, 401, "2fa_required")
			clock.Add(30 * time.Second)
			resp, body = a.Send("POST", "/api/login/token/", strings.Replace(tc.body, "%s", clock.Code(secret), 1), false)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %v", tc.body, resp.StatusCode, body)
			}
			if got := apitest.SetCookieHeader(resp, httpauth.RememberCookiePrefix) != ""; got != tc.want {
				t.Fatalf("%s: remembered %v, want %v", tc.body, got, tc.want)
			}
		}
	})
}

// TestLogoutNotice: logging out from a page lands on the login page,
// which says so.
func TestLogoutNotice(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.NewBrowser(t, ts)
		if _, page := b.Page("GET", "/login", nil); strings.Contains(page, "You are logged out.") {
			t.Fatal("the login page says logged out before any logout")
		}
		b.PageForm("/login", "/login", url.Values{"email": {"owner@example.com"}, "password": {apitest.OwnerPassword}})
		_, home := b.Page("GET", "/", nil)
		resp, _ := b.Page("POST", "/logout", url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, home)}})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?message=logged_out" {
			t.Fatalf("logout: %d %v", resp.StatusCode, resp.Header)
		}
		resp, page := b.Page("GET", resp.Header.Get("Location"), nil)
		if resp.StatusCode != 200 || !strings.Contains(page, `<p class="notice" role="status">You are logged out.</p>`) {
			t.Fatalf("login page after logout: %d\n%s", resp.StatusCode, page)
		}
		if resp, _ := b.Page("GET", "/", nil); resp.StatusCode != 302 {
			t.Fatalf("the session survived the logout: %d", resp.StatusCode)
		}
	})
}

// TestNotFoundPages: browsers get an HTML 404 page; API clients, and any
// path under /api/, keep the JSON envelope.
func TestNotFoundPages(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	for _, tc := range []struct {
		path, accept string
		html         bool
	}{
		{"/no-such-page", browserAccept, true},
		{"/settings/nothing/here", "text/html", true},
		{"/no-such-page", "", false},
		{"/no-such-page", "*/*", false},
		{"/no-such-page", "application/json", false},
		{"/no-such-page", "application/json, text/html;q=0.5", false},
		{"/api/no-such-endpoint", browserAccept, false},
		{"/api", browserAccept, false},
	} {
		req, _ := http.NewRequest("GET", ts.URL+tc.path, nil)
		if tc.accept != "" {
			req.Header.Set("Accept", tc.accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Fatalf("%s (%s): %d", tc.path, tc.accept, resp.StatusCode)
		}
		ct := resp.Header.Get("Content-Type")
		if tc.html {
			if !strings.HasPrefix(ct, "text/html") || !strings.Contains(string(body), "<h1>Page not found</h1>") || !strings.Contains(string(body), `href="/"`) {
				t.Fatalf("%s (%s): want the HTML page, got %s\n%s", tc.path, tc.accept, ct, body)
			}
			continue
		}
		var envelope map[string]any
		if !strings.HasPrefix(ct, "application/json") || json.Unmarshal(body, &envelope) != nil || envelope["type"] == nil || envelope["detail"] == nil {
			t.Fatalf("%s (%s): want the JSON envelope, got %s\n%s", tc.path, tc.accept, ct, body)
		}
	}
}

// TestNotFoundPageSignedIn: a signed-in person who follows a dead link
// keeps the navigation bar (and is not offered a login); a POST to an
// unknown path with the session cookie is still a 404, not a CSRF
// refusal; signed out, the page offers the login.
func TestNotFoundPageSignedIn(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	get := func(b *apitest.Browser) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/projects/42/no-such-page", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	owner := apitest.OwnerBrowser(t, ts)
	status, body := get(owner)
	if status != 404 || !strings.Contains(body, `<header class="topbar">`) || !strings.Contains(body, ts.User.Email) ||
		!strings.Contains(body, `action="/logout"`) || strings.Contains(body, `href="/login"`) {
		t.Fatalf("signed in: %d\n%s", status, body)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/no-such-form", strings.NewReader("a=b"))
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := owner.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("POST to an unknown path with a session: %d, want 404", resp.StatusCode)
	}
	status, body = get(apitest.NewBrowser(t, ts))
	if status != 404 || strings.Contains(body, `<header class="topbar">`) || !strings.Contains(body, `href="/login"`) {
		t.Fatalf("signed out: %d\n%s", status, body)
	}
}

// TestPasswordStrengthEndpoint: the meter's endpoint answers the
// server's own rating (the one signup enforces), takes JSON only, and is
// rate-limited per address.
func TestPasswordStrengthEndpoint(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
	rate := func(body string) (int, map[string]any) {
		t.Helper()
		resp, out := b.Send("POST", "/api/users/password_strength/", body, false)
		return resp.StatusCode, out
	}
	status, out := rate(`{"password":"password123"}`)
	fb, _ := out["feedback"].(map[string]any)
	if status != 200 || out["score"].(float64) >= 3 || out["acceptable"] != false || fb == nil || fb["warning"] == "" || !strings.Contains(out["detail"].(string), "common") {
		t.Fatalf("weak password: %d %v", status, out)
	}
	status, out = rate(`{"password":"` + apitest.GoodPassword + `"}`)
	if status != 200 || out["score"].(float64) < 3 || out["acceptable"] != true || out["detail"] != nil {
		t.Fatalf("good password: %d %v", status, out)
	}
	status, out = rate(`{"password":"short"}`)
	if status != 200 || out["score"].(float64) != 0 || out["acceptable"] != false || !strings.Contains(out["detail"].(string), "too short") {
		t.Fatalf("short password: %d %v", status, out)
	}
	// The person's own words count against the password, as at signup.
	const own = "ada.lovelace@analytical.example"
	if status, out := rate(`{"password":"` + own + `"}`); status != 200 || out["acceptable"] != true {
		t.Fatalf("the email as password, not knowing it is the email: %d %v", status, out)
	}
	if status, out := rate(`{"password":"` + own + `","email":"` + own + `","first_name":"Ada","last_name":"Lovelace"}`); status != 200 || out["acceptable"] != false {
		t.Fatalf("the email as password: %d %v", status, out)
	}
	// The signup form refuses what the endpoint calls weak, next to the field.
	resp, page := apitest.NewBrowser(t, ts).Submit("/signup", "/signup", map[string]string{"first_name": "Ada", "email": "weak@example.com", "password": "password123", "organization_name": "Org"})
	if resp.StatusCode != 400 || !strings.Contains(page, `id="password-error">`) || !strings.Contains(page, html.EscapeString(fb["warning"].(string))) {
		t.Fatalf("signup with a weak password: %d\n%s", resp.StatusCode, page)
	}

	// Not JSON: refused.
	req, _ := http.NewRequest("POST", ts.URL+"/api/users/password_strength/", strings.NewReader("password=password123"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Fatalf("form body: %d", resp.StatusCode)
	}
	// From another site: refused.
	if resp, _ := b.Send("POST", "/api/users/password_strength/", `{"password":"x"}`, false, "Origin", "https://evil.example"); resp.StatusCode != 403 {
		t.Fatalf("cross-site: %d", resp.StatusCode)
	}

	// Rate-limited per address: a fresh address gets its full allowance.
	c := apitest.NewBrowser(t, ts)
	limited := 0
	for i := 0; i < 70; i++ {
		resp, _ := c.Send("POST", "/api/users/password_strength/", `{"password":"hunter2hunter2"}`, false)
		if resp.StatusCode == 429 {
			if limited == 0 && i < 55 {
				t.Fatalf("throttled after %d checks", i)
			}
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("70 checks in a row were never throttled")
	}
}

// TestHomeShowsProjectToken: home names the organization and project,
// shows the project's token with a copy button and a curl command that
// sends an event to this instance with that token, and links the next
// steps.
func TestHomeShowsProjectToken(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.NewBrowser(t, ts)
		b.PageForm("/login", "/login", url.Values{"email": {"owner@example.com"}, "password": {apitest.OwnerPassword}})
		resp, page := b.Page("GET", "/", nil)
		token := ts.Project.APIToken
		if resp.StatusCode != 200 || !strings.HasPrefix(token, "phc_") {
			t.Fatalf("home: %d, token %q", resp.StatusCode, token)
		}
		for _, want := range []string{
			`<code id="project-token">` + token + `</code>`,
			`data-copy="project-token"`,
			`<script src="/static/copy.js" defer></script>`,
			`curl -X POST ` + apitest.TestSiteURL + `/i/v0/e/`,
			html.EscapeString(`"api_key": "` + token + `"`),
			`id="organization-name">Acme<`,
			`id="project-name">` + html.EscapeString(ts.Project.Name) + `<`,
			`href="/settings/two_factor"`, `href="/settings/passkeys"`, `href="/account#personal-api-keys"`, `href="/organization#invites"`,
			// the navigation bar
			`<a href="/" aria-current="page">Home</a>`, `href="/project"`, `href="/organization"`, `href="/account"`,
			`id="signed-in-email">owner@example.com<`, `action="/logout"`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("home lacks %s", want)
			}
		}
		if t.Failed() {
			t.Fatal(page)
		}
		// The example works as printed: it reaches capture with the token.
		before := ts.Count(t)
		body := `{"api_key": "` + token + `", "event": "hello from curl", "distinct_id": "user-1", "properties": {"source": "gatehouse home page"}}`
		if !strings.Contains(page, html.EscapeString(body)) {
			t.Fatalf("the curl body differs from the one tested:\n%s", page)
		}
		if resp, _ := ts.Do(t, "POST", "/i/v0/e/", strings.NewReader(body), "Content-Type", "application/json"); resp.StatusCode != 200 {
			t.Fatalf("the example's request: %d", resp.StatusCode)
		}
		if ts.Count(t) != before+1 {
			t.Fatal("the example's event was not captured")
		}
		if resp, js := b.Page("GET", "/static/copy.js", nil); resp.StatusCode != 200 || !strings.Contains(js, "clipboard") {
			t.Fatalf("copy.js: %d", resp.StatusCode)
		}
	})
}
