package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// sessionSet reports whether a response sets a non-empty session cookie.
func sessionSet(resp *http.Response) bool {
	for _, c := range resp.Cookies() {
		if c.Name == httpauth.SessionCookie && c.Value != "" {
			return true
		}
	}
	return false
}

// countRows counts a table's rows.
func countRows(t *testing.T, ts *apitest.Server, table string) int {
	t.Helper()
	var n int
	if err := ts.Store.DB().QueryRowContext(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A browser's Origin must be SITE_URL's exact origin (scheme, host and port)
// for a login to set a session; requests without Origin and Sec-Fetch-Site
// (curl, SDKs) still work.
func TestAttackLoginCSRFOriginVariants(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{SiteURL: "http://localhost:8000"})
		body, _ := json.Marshal(map[string]string{"email": "owner@example.com", "password": apitest.OwnerPassword})
		for _, tc := range []struct {
			name   string
			header []string
			ok     bool
		}{
			{"no Origin, no Sec-Fetch-Site (curl)", nil, true},
			{"same origin", []string{"Origin", "http://localhost:8000"}, true},
			{"same origin, browser metadata", []string{"Origin", "http://localhost:8000", "Sec-Fetch-Site", "same-origin"}, true},
			{"Sec-Fetch-Site same-origin without Origin", []string{"Sec-Fetch-Site", "same-origin"}, true},
			{"other port", []string{"Origin", "http://localhost:8001"}, false},
			{"other port, same-site metadata", []string{"Origin", "http://localhost:8001", "Sec-Fetch-Site", "same-site"}, false},
			{"default port instead of 8000", []string{"Origin", "http://localhost"}, false},
			{"https instead of http", []string{"Origin", "https://localhost:8000"}, false},
			{"other host", []string{"Origin", "http://127.0.0.1:8000"}, false},
			{"foreign site", []string{"Origin", "https://evil.example"}, false},
			{"Origin null", []string{"Origin", "null"}, false},
			{"Origin with a path", []string{"Origin", "http://localhost:8000/x"}, false},
			{"cross-site without Origin", []string{"Sec-Fetch-Site", "cross-site"}, false},
			{"same-site without Origin", []string{"Sec-Fetch-Site", "same-site"}, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := countRows(t, ts, "sessions")
				h := append([]string{"Content-Type", "application/json"}, tc.header...)
				resp, text := ts.Do(t, "POST", "/api/login/", strings.NewReader(string(body)), h...)
				if tc.ok {
					if resp.StatusCode != 200 || !sessionSet(resp) {
						t.Fatalf("refused: %d %s", resp.StatusCode, text)
					}
					return
				}
				var e map[string]any
				json.Unmarshal([]byte(text), &e)
				if resp.StatusCode != 403 || e["type"] != "authentication_error" || e["code"] != "csrf_failed" || sessionSet(resp) {
					t.Fatalf("accepted: %d %s %v", resp.StatusCode, text, resp.Header)
				}
				if after := countRows(t, ts, "sessions"); after != before {
					t.Fatalf("a session was stored: %d -> %d", before, after)
				}
			})
		}
	})
	// An explicit default port in SITE_URL is the same origin as none.
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{SiteURL: "https://gatehouse.example.com:443"})
	body, _ := json.Marshal(map[string]string{"email": "owner@example.com", "password": apitest.OwnerPassword})
	if resp, text := ts.Do(t, "POST", "/api/login/", strings.NewReader(string(body)), "Content-Type", "application/json", "Origin", "https://gatehouse.example.com"); resp.StatusCode != 200 {
		t.Fatalf("default port: %d %s", resp.StatusCode, text)
	}
	if resp, _ := ts.Do(t, "POST", "/api/login/", strings.NewReader(string(body)), "Content-Type", "application/json", "Origin", "https://gatehouse.example.com:8443"); resp.StatusCode != 403 {
		t.Fatalf("port 8443: %d", resp.StatusCode)
	}
}

// Every endpoint that can set the session cookie refuses a cross-site
// browser request before doing anything (SSO callbacks excepted: their
// state binds them).
func TestAttackLoginCSRFEverySignInEndpoint(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)
		inviteID := apitest.MustInvite(t, owner, "ada@example.com", 0)
		evil := []string{"Origin", "https://evil.example"}
		jsonBodies := map[string]string{
			"/api/login/":                   `{"email":"owner@example.com","password":"` + apitest.OwnerPassword + `"}`,
			"/api/signup/":                  apitest.SignupBody("mallory@example.com", apitest.GoodPassword),
			"/api/signup/" + inviteID + "/": apitest.InviteSignupBody("Ada", apitest.GoodPassword),
			"/api/users/verify_email/":      `{"uuid":"` + ts.User.UUID + `","token":"x"}`,
			"/api/login/token/":             `{"token":"123456"}`,
			"/api/login/email-mfa/":         `{"email":"owner@example.com","token":"x"}`,
			"/api/webauthn/login/complete/": `{}`,
			"/api/social_signup/":           `{"organization_name":"X","first_name":"M"}`,
		}
		users := countRows(t, ts, "users")
		for path, body := range jsonBodies {
			b := apitest.NewBrowser(t, ts)
			resp, out := b.Send("POST", path, body, false, evil...)
			if resp.StatusCode != 403 || out["code"] != "csrf_failed" || sessionSet(resp) {
				t.Errorf("POST %s cross-site: %d %v", path, resp.StatusCode, out)
			}
		}
		// The page forms, with a valid double-submit token: only the Origin
		// is wrong.
		forms := map[string]url.Values{
			"/login":                               {"email": {"owner@example.com"}, "password": {apitest.OwnerPassword}},
			"/signup":                              {"first_name": {"M"}, "email": {"mallory2@example.com"}, "password": {apitest.GoodPassword}},
			"/signup/" + inviteID:                  {"first_name": {"Ada"}, "password": {apitest.GoodPassword}},
			"/verify_email/" + ts.User.UUID + "/x": {},
			"/login/token":                         {"token": {"123456"}},
			"/login/email-mfa":                     {"email": {"owner@example.com"}, "token": {"x"}},
			"/organization/confirm-creation":       {"organization_name": {"X"}, "first_name": {"M"}},
			"/reset/" + ts.User.UUID + "/x":        {"password": {apitest.GoodPassword}},
		}
		for path, form := range forms {
			b := apitest.NewBrowser(t, ts)
			b.SetCookie(httpauth.CSRFCookie, "a-valid-double-submit-token-0123456789")
			form.Set(httpauth.CSRFFormField, "a-valid-double-submit-token-0123456789")
			b.Extra = evil
			resp, html := b.Page("POST", path, form)
			if resp.StatusCode != 403 || !strings.Contains(html, web.CSRFFailedText) || sessionSet(resp) {
				t.Errorf("POST %s cross-site: %d %s", path, resp.StatusCode, html)
			}
		}
		if after := countRows(t, ts, "users"); after != users {
			t.Fatalf("cross-site requests created users: %d -> %d", users, after)
		}
		// The same requests from this site work.
		b := apitest.NewBrowser(t, ts)
		if resp, out := b.Send("POST", "/api/login/", jsonBodies["/api/login/"], false, "Origin", "https://gatehouse.example.com"); resp.StatusCode != 200 || !sessionSet(resp) {
			t.Fatalf("same-origin login: %d %v", resp.StatusCode, out)
		}
		b = apitest.NewBrowser(t, ts)
		b.Extra = []string{"Origin", "https://gatehouse.example.com"}
		if resp, html := b.Submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": apitest.OwnerPassword}); resp.StatusCode != 303 || !sessionSet(resp) {
			t.Fatalf("same-origin login form: %d %s", resp.StatusCode, html)
		}
	})
}

// The JSON sign-in endpoints take only JSON bodies: a text/plain or form
// post (which a foreign page can send without a preflight) is refused
// with 415 and changes nothing.
func TestAttackLoginCSRFBodyType(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		login := `{"email":"owner@example.com","password":"` + apitest.OwnerPassword + `"}`
		for _, tc := range []struct {
			path, body, contentType string
		}{
			{"/api/login/", login, "text/plain"},
			{"/api/login/", login, "text/plain;charset=UTF-8"},
			{"/api/login/", login, ""},
			{"/api/login/", url.Values{"email": {"owner@example.com"}, "password": {apitest.OwnerPassword}}.Encode(), "application/x-www-form-urlencoded"},
			{"/api/login/", login, "multipart/form-data; boundary=x"},
			{"/api/signup/", apitest.SignupBody("mallory@example.com", apitest.GoodPassword), "text/plain"},
		} {
			users := countRows(t, ts, "users")
			h := []string{}
			if tc.contentType != "" {
				h = append(h, "Content-Type", tc.contentType)
			}
			resp, text := ts.Do(t, "POST", tc.path, strings.NewReader(tc.body), h...)
			var e map[string]any
			json.Unmarshal([]byte(text), &e)
			if resp.StatusCode != 415 || e["code"] != "unsupported_media_type" || e["type"] != "invalid_request" || sessionSet(resp) {
				t.Errorf("%s as %q: %d %s", tc.path, tc.contentType, resp.StatusCode, text)
			}
			if countRows(t, ts, "users") != users {
				t.Errorf("%s as %q created a user", tc.path, tc.contentType)
			}
		}
		if resp, text := ts.Do(t, "POST", "/api/login/", strings.NewReader(login), "Content-Type", "application/json; charset=utf-8"); resp.StatusCode != 200 || !sessionSet(resp) {
			t.Fatalf("JSON with a charset: %d %s", resp.StatusCode, text)
		}
	})
}

// The CSRF token is the session's own (an HMAC of its key): it changes at
// login, and a token from before login or from another session is refused.
func TestAttackCSRFTokenBoundToSession(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.NewBrowser(t, ts)
		b.Page("GET", "/login", nil)
		before := b.Cookie(httpauth.CSRFCookie)
		if before == "" {
			t.Fatal("the login page set no CSRF cookie")
		}
		b.Login("owner@example.com", apitest.OwnerPassword)
		first := b.Cookie(httpauth.CSRFCookie)
		if first == "" || first == before {
			t.Fatalf("token not rotated at login: %q -> %q", before, first)
		}
		patch := func(b *apitest.Browser, token string) int {
			t.Helper()
			resp, _ := b.Send("PATCH", "/api/users/@me/", `{"first_name":"Eve"}`, false, "X-CSRFToken", token)
			return resp.StatusCode
		}
		// The pre-login token, even as a matching cookie and header pair.
		b.SetCookie(httpauth.CSRFCookie, before)
		if got := patch(b, before); got != 403 {
			t.Fatalf("pre-login token: %d", got)
		}
		// Another session's token, as a matching pair.
		other := apitest.OwnerBrowser(t, ts)
		theirs := other.Cookie(httpauth.CSRFCookie)
		b.SetCookie(httpauth.CSRFCookie, theirs)
		if got := patch(b, theirs); got != 403 {
			t.Fatalf("another session's token: %d", got)
		}
		if got := patch(b, ""); got != 403 {
			t.Fatalf("no token: %d", got)
		}
		if got := patch(b, first); got != 200 {
			t.Fatalf("own token: %d", got)
		}
		// @me puts the session's token back in the cookie.
		b.Send("GET", "/api/users/@me/", "", false)
		if b.Cookie(httpauth.CSRFCookie) != first {
			t.Fatalf("cookie not restored: %q", b.Cookie(httpauth.CSRFCookie))
		}
		// A new login rotates it again; the old one is dead.
		b.Login("owner@example.com", apitest.OwnerPassword)
		second := b.Cookie(httpauth.CSRFCookie)
		if second == first || patch(b, first) != 403 || patch(b, second) != 200 {
			t.Fatalf("second login: %q %q", first, second)
		}
		// The settings page's forms carry the session's token.
		_, html := b.Page("GET", "/settings", nil)
		if apitest.FormToken(t, html) != second {
			t.Fatal("settings form token is not the session's")
		}
		if resp, _ := b.Submit("/settings", "/settings/profile", map[string]string{"first_name": "Ada", "last_name": "L"}); resp.StatusCode != 303 {
			t.Fatalf("settings form: %d", resp.StatusCode)
		}
	})
}

// The notice box shows only texts from a fixed list of codes: a link
// cannot make the login or settings page say anything else.
func TestAttackInjectedNotice(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	phish := "Your account is locked. Call +1 555 0100 or visit https://evil.example now"
	b := apitest.OwnerBrowser(t, ts)
	for _, path := range []string{"/login", "/settings"} {
		for _, q := range []url.Values{{"message": {phish}}, {"done": {phish}}, {"message": {"profile<script>"}}} {
			resp, html := b.Page("GET", path+"?"+q.Encode(), nil)
			if resp.StatusCode != 200 || strings.Contains(html, "evil.example") || strings.Contains(html, `class="notice" role="status">`) {
				t.Fatalf("%s?%s: %d\n%s", path, q.Encode(), resp.StatusCode, html)
			}
		}
	}
	for path, want := range map[string]string{
		"/login?message=password_changed":            "Your password was changed. Log in with the new one.",
		"/settings?done=profile":                     "Your name was saved.",
		"/settings?done=linked&backend=evil.example": "The sign-in account was linked.",
	} {
		if _, html := b.Page("GET", path, nil); !strings.Contains(html, `<p class="notice" role="status">`+want+`</p>`) {
			t.Fatalf("%s lacks %q:\n%s", path, want, html)
		}
	}
	// The email-MFA landing page names only an email address.
	if resp, html := apitest.NewBrowser(t, ts).Page("GET", "/login/email-mfa?"+url.Values{"email": {phish}, "token": {"x"}}.Encode(), nil); resp.StatusCode != 400 || strings.Contains(html, "evil.example") {
		t.Fatalf("email-MFA page with text for an email: %d\n%s", resp.StatusCode, html)
	}
	// Redirects send codes.
	resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/login/token", nil)
	if loc := resp.Header.Get("Location"); loc != "/login?message=login_first" {
		t.Fatalf("second step without a pending login: %s", loc)
	}
}

// NUL and invalid UTF-8 in JSON fields, form fields, query parameters and
// path segments are refused with 400 naming the field, on both engines,
// and change nothing.
func TestAttackBadBytes(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)
		inviteID := apitest.MustInvite(t, owner, "ada@example.com", 0)
		dump := apitest.DumpDatabase(t, ts.Store.DB())
		wantBad := func(what string, status int, e map[string]any, attr string) {
			t.Helper()
			if status != 400 || e["type"] != "validation_error" || e["code"] != "invalid_input" || e["attr"] != attr {
				t.Errorf("%s: %d %v", what, status, e)
			}
		}
		for _, tc := range []struct {
			name, method, path, body, attr string
		}{
			{"login email \\u0000", "POST", "/api/login/", `{"email":"owner@example.com\u0000","password":"x"}`, "email"},
			{"login password \\u0000", "POST", "/api/login/", `{"email":"owner@example.com","password":"a\u0000b"}`, "password"},
			{"login raw invalid bytes", "POST", "/api/login/", "{\"email\":\"owner\xff@example.com\",\"password\":\"x\"}", "email"},
			{"signup first_name \\u0000", "POST", "/api/signup/", `{"first_name":"Mal\u0000","email":"mal@example.com","password":"` + apitest.GoodPassword + `"}`, "first_name"},
			{"signup raw invalid email", "POST", "/api/signup/", "{\"first_name\":\"Mal\",\"email\":\"m\xc3\x28@example.com\",\"password\":\"" + apitest.GoodPassword + "\"}", "email"},
			{"invite signup", "POST", "/api/signup/" + inviteID + "/", `{"first_name":"A\u0000","password":"` + apitest.GoodPassword + `"}`, "first_name"},
			{"reset request", "POST", "/api/reset/", `{"email":"owner@example.com\u0000"}`, "email"},
			{"key in a field name", "POST", "/api/login/", "{\"email\\u0000\":\"x\",\"password\":\"x\"}", "email\uFFFD"},
		} {
			b := apitest.NewBrowser(t, ts)
			resp, e := b.Send(tc.method, tc.path, tc.body, false)
			wantBad(tc.name, resp.StatusCode, e, tc.attr)
		}
		// Signed in: the profile API and the settings form.
		resp, e := owner.Send("PATCH", "/api/users/@me/", `{"first_name":"Ada\u0000"}`, true)
		wantBad("PATCH @me", resp.StatusCode, e, "first_name")
		resp, e = owner.Send("PATCH", "/api/users/@me/", "{\"last_name\":\"\xfe\"}", true)
		wantBad("PATCH @me raw", resp.StatusCode, e, "last_name")
		_, html := owner.Page("GET", "/settings", nil)
		form := url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, html)}, "first_name": {"Ada\x00"}, "last_name": {"L"}}
		resp, body := owner.Page("POST", "/settings/profile", form)
		json.Unmarshal([]byte(body), &e)
		wantBad("settings form", resp.StatusCode, e, "first_name")
		// Pages before sign-in.
		for _, tc := range []struct {
			page string
			form url.Values
			attr string
		}{
			{"/signup", url.Values{"first_name": {"M\x00"}, "email": {"m2@example.com"}, "password": {apitest.GoodPassword}}, "first_name"},
			{"/login", url.Values{"email": {"owner@example.com"}, "password": {"\xff"}}, "password"},
		} {
			b := apitest.NewBrowser(t, ts)
			_, html := b.Page("GET", tc.page, nil)
			tc.form.Set(httpauth.CSRFFormField, apitest.FormToken(t, html))
			resp, body := b.Page("POST", tc.page, tc.form)
			var e map[string]any
			json.Unmarshal([]byte(body), &e)
			wantBad("form "+tc.page, resp.StatusCode, e, tc.attr)
		}
		// Query parameters and path segments.
		for _, tc := range []struct{ path, attr string }{
			{"/api/reset/" + ts.User.UUID + "/?token=%00", "token"},
			{"/api/reset/" + ts.User.UUID + "/?token=%ff", "token"},
			{"/api/signup/%00/", "invite"},
			{"/api/signup/%c3%28/", "invite"},
			{"/api/organizations/%00/invites/", "org"},
			{"/api/projects/%ff/", "project"},
			{"/signup/%00", "invite"},
		} {
			resp, e := owner.Send("GET", tc.path, "", false)
			wantBad("GET "+tc.path, resp.StatusCode, e, tc.attr)
		}
		if after := apitest.DumpDatabase(t, ts.Store.DB()); string(after) != string(dump) {
			t.Fatal("bad input changed the database")
		}
		// A User-Agent with invalid bytes (sessions record it) is cleaned,
		// not a server error.
		login := `{"email":"owner@example.com","password":"` + apitest.OwnerPassword + `"}`
		if resp, text := ts.Do(t, "POST", "/api/login/", strings.NewReader(login), "Content-Type", "application/json", "User-Agent", "Mozilla\xff\xfe"); resp.StatusCode != 200 {
			t.Fatalf("login with an invalid User-Agent: %d %s", resp.StatusCode, text)
		}
	})
}
