package httpapi_test

import (
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var csrfFieldRE = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

// page fetches a page and returns its response and HTML.
func (b *browser) page(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.ts.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(b.extra); i += 2 {
		req.Header.Set(b.extra[i], b.extra[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	html, _ := io.ReadAll(resp.Body)
	return resp, string(html)
}

// formToken is the hidden CSRF field of a rendered form.
func formToken(t *testing.T, html string) string {
	t.Helper()
	m := csrfFieldRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrfmiddlewaretoken field in:\n%s", html)
	}
	return m[1]
}

// submit loads the form page at formPath and posts fields to postPath with
// the form's CSRF token, as a browser does.
func (b *browser) submit(formPath, postPath string, fields map[string]string) (*http.Response, string) {
	b.t.Helper()
	resp, html := b.page("GET", formPath, nil)
	if resp.StatusCode != 200 {
		b.t.Fatalf("GET %s: %d", formPath, resp.StatusCode)
	}
	form := url.Values{httpauth.CSRFFormField: {formToken(b.t, html)}}
	for k, v := range fields {
		form.Set(k, v)
	}
	return b.page("POST", postPath, form)
}

func TestLoginPageRendersCSRFField(t *testing.T) {
	ts := newTestServer(t, store.SQLite, serverOptions{})
	b := newBrowser(t, ts)
	resp, html := b.page("GET", "/login?message=session_expired", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /login: %d %v", resp.StatusCode, resp.Header)
	}
	if formToken(t, html) != b.cookie("posthog_csrftoken") || b.cookie("posthog_csrftoken") == "" {
		t.Fatal("the hidden token does not match the CSRF cookie")
	}
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'self'; base-uri 'none'",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "SAMEORIGIN",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s: %q", h, got)
		}
	}
	for _, want := range []string{`<label for="email">`, `autocomplete="email"`, `autocomplete="current-password"`,
		`href="/signup"`, `href="/reset"`, `href="/static/gatehouse.css"`, "Your session has expired. Please log in again."} {
		if !strings.Contains(html, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if strings.Contains(html, "<b>now") {
		t.Error("message not escaped")
	}
	resp, css := b.page("GET", "/static/gatehouse.css", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, "field-error") {
		t.Fatalf("stylesheet: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := b.page("GET", "/no-such-page", nil); resp.StatusCode != 404 {
		t.Fatalf("the home page swallowed other paths: %d", resp.StatusCode)
	}
}

func TestLoginFormRequiresCSRF(t *testing.T) {
	ts := newTestServer(t, store.SQLite, serverOptions{})
	for name, token := range map[string]string{"missing": "", "wrong": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		b := newBrowser(t, ts)
		b.page("GET", "/login", nil) // gets the cookie
		form := url.Values{"email": {"owner@example.com"}, "password": {ownerPassword}}
		if token != "" {
			form.Set(httpauth.CSRFFormField, token)
		}
		resp, body := b.page("POST", "/login", form)
		if resp.StatusCode != 403 || !strings.Contains(body, "CSRF verification failed. Reload the page and try again.") {
			t.Fatalf("%s token: %d %s", name, resp.StatusCode, body)
		}
		if b.cookie("sessionid") != "" {
			t.Fatalf("%s token: a session was started", name)
		}
	}
	// The right token from another site's page (Origin) is refused.
	b0 := newBrowser(t, ts)
	_, html := b0.page("GET", "/login", nil)
	b0.extra = []string{"Origin", "https://evil.example"}
	if resp, _ := b0.page("POST", "/login", url.Values{httpauth.CSRFFormField: {formToken(t, html)}, "email": {"owner@example.com"}, "password": {ownerPassword}}); resp.StatusCode != 403 || b0.cookie("sessionid") != "" {
		t.Fatalf("foreign Origin: %d", resp.StatusCode)
	}
	// No cookie at all, even with a field: refused.
	b := newBrowser(t, ts)
	resp, _ := b.page("POST", "/login", url.Values{httpauth.CSRFFormField: {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "email": {"owner@example.com"}, "password": {ownerPassword}})
	if resp.StatusCode != 403 || b.cookie("sessionid") != "" {
		t.Fatalf("no cookie: %d", resp.StatusCode)
	}
}

func TestLoginFormSignsInAndLogsOut(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := newTestServer(t, engine, serverOptions{})
		b := newBrowser(t, ts)
		if resp, _ := b.page("GET", "/", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("anonymous home: %d %v", resp.StatusCode, resp.Header)
		}
		resp, _ := b.submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": ownerPassword})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" || b.cookie("sessionid") == "" {
			t.Fatalf("login: %d %v", resp.StatusCode, resp.Header)
		}
		resp, html := b.page("GET", "/", nil)
		if resp.StatusCode != 200 || !strings.Contains(html, "Signed in as <strong>owner@example.com</strong>") ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("home: %d %s", resp.StatusCode, html)
		}
		// The logout form without its token is refused; with it, the session ends.
		if resp, _ := b.page("POST", "/logout", url.Values{}); resp.StatusCode != 403 {
			t.Fatalf("logout without token: %d", resp.StatusCode)
		}
		resp, _ = b.page("POST", "/logout", url.Values{httpauth.CSRFFormField: {formToken(t, html)}})
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("logout: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, _ := b.page("GET", "/", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("home after logout: %d", resp.StatusCode)
		}
	})
}

func TestLoginFormNext(t *testing.T) {
	ts := newTestServer(t, store.SQLite, serverOptions{})
	for _, tc := range []struct{ next, want string }{
		{"/settings", "/settings"},
		{"/project/1?tab=keys", "/project/1?tab=keys"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"/\t/evil.example", "/"},
		{"", "/"},
	} {
		b := newBrowser(t, ts)
		_, html := b.page("GET", "/login?next="+url.QueryEscape(tc.next), nil)
		form := url.Values{httpauth.CSRFFormField: {formToken(t, html)}, "email": {"owner@example.com"}, "password": {ownerPassword}, "next": {tc.next}}
		resp, _ := b.page("POST", "/login", form)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != tc.want {
			t.Errorf("next=%q: %d %q", tc.next, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The login page carries a safe next into its form, and drops an unsafe one.
	_, html := newBrowser(t, ts).page("GET", "/login?next=/settings", nil)
	if !strings.Contains(html, `name="next" value="/settings"`) {
		t.Error("next not carried into the form")
	}
	_, html = newBrowser(t, ts).page("GET", "/login?next=//evil.example", nil)
	if strings.Contains(html, "evil.example") {
		t.Error("unsafe next carried into the form")
	}
}

func TestLoginFormErrors(t *testing.T) {
	ts := newTestServer(t, store.SQLite, serverOptions{})
	b := newBrowser(t, ts)
	const wrong = "wrong guess 12345"
	resp, html := b.submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": wrong})
	if resp.StatusCode != 400 || !strings.Contains(html, "Invalid email or password.") ||
		!strings.Contains(html, `value="owner@example.com"`) || strings.Contains(html, wrong) {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, html)
	}
	if b.cookie("sessionid") != "" {
		t.Fatal("a failed login started a session")
	}
	// A missing field is shown next to it.
	resp, html = b.submit("/login", "/login", map[string]string{"email": "owner@example.com"})
	if resp.StatusCode != 400 || !strings.Contains(html, `<span class="field-error" id="password-error">This field is required.</span>`) ||
		!strings.Contains(html, `aria-describedby="password-error"`) {
		t.Fatalf("missing password: %d %s", resp.StatusCode, html)
	}
	// HTML in what was typed comes back escaped.
	resp, html = b.submit("/login", "/login", map[string]string{"email": `"><script>alert(1)</script>`, "password": wrong})
	if resp.StatusCode != 400 || strings.Contains(html, "<script>") || !strings.Contains(html, `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`) {
		t.Fatalf("escaping: %d %s", resp.StatusCode, html)
	}
}

func TestLoginFormLockout(t *testing.T) {
	ts := newTestServer(t, store.SQLite, serverOptions{})
	b := newBrowser(t, ts)
	for i := 1; i <= 4; i++ {
		if resp, _ := b.submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": "wrong guess"}); resp.StatusCode != 400 {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	for _, pw := range []string{"wrong guess", ownerPassword} {
		resp, html := b.submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": pw})
		if resp.StatusCode != 403 || !strings.Contains(html, lockedDetail) || b.cookie("sessionid") != "" {
			t.Fatalf("want the lockout page, got %d %s", resp.StatusCode, html)
		}
	}
}

func TestSignupForm(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := newTestServer(t, engine, serverOptions{empty: true})
		b := newBrowser(t, ts)
		fields := map[string]string{"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
			"password": "password123", "organization_name": "Navy"}
		weak, _ := gatehouse.AsError(password.CheckStrength("password123", "grace@example.com", "Grace", "Hopper"))
		if weak == nil || weak.Detail == "" {
			t.Fatal("password123 is not refused by the policy")
		}
		resp, html := b.submit("/signup", "/signup", fields)
		if resp.StatusCode != 400 || !strings.Contains(html, `<span class="field-error" id="password-error">`+template.HTMLEscapeString(weak.Detail)+`</span>`) ||
			!strings.Contains(html, `value="grace@example.com"`) || strings.Contains(html, "password123") {
			t.Fatalf("weak password: %d %s", resp.StatusCode, html)
		}
		for _, want := range []string{`autocomplete="new-password"`, `autocomplete="given-name"`, `<label for="organization_name">`} {
			if !strings.Contains(html, want) {
				t.Errorf("signup page lacks %s", want)
			}
		}
		fields["password"] = goodPassword
		resp, _ = b.submit("/signup", "/signup", fields)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" || b.cookie("sessionid") == "" {
			t.Fatalf("signup: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, html := b.page("GET", "/", nil); resp.StatusCode != 200 || !strings.Contains(html, "grace@example.com") {
			t.Fatalf("home after signup: %d %s", resp.StatusCode, html)
		}
		// A second organization is refused at the top of the form.
		resp, html = newBrowser(t, ts).submit("/signup", "/signup", map[string]string{"first_name": "Ada", "email": "ada@example.com", "password": goodPassword})
		if resp.StatusCode != 403 || !strings.Contains(html, `<p class="error" role="alert" id="form-error">New organizations cannot be created`) {
			t.Fatalf("second signup: %d %s", resp.StatusCode, html)
		}
	})
}

func TestSignupFormRequiresCSRF(t *testing.T) {
	ts := newTestServer(t, store.SQLite, serverOptions{empty: true})
	b := newBrowser(t, ts)
	b.page("GET", "/signup", nil)
	resp, _ := b.page("POST", "/signup", url.Values{"first_name": {"Grace"}, "email": {"grace@example.com"}, "password": {goodPassword}})
	if resp.StatusCode != 403 {
		t.Fatalf("signup without token: %d", resp.StatusCode)
	}
	if _, err := ts.store.UserByEmail(t.Context(), "grace@example.com"); !store.IsNotFound(err) {
		t.Fatal("a signup without CSRF token created a user")
	}
}

func TestSignupFormWithEmailVerification(t *testing.T) {
	ts := newTestServer(t, store.SQLite, serverOptions{empty: true, verifyEmail: true})
	b := newBrowser(t, ts)
	resp, html := b.submit("/signup", "/signup", map[string]string{"first_name": "Grace", "email": "grace@example.com", "password": goodPassword})
	if resp.StatusCode != 200 || !strings.Contains(html, "Check your email") || b.cookie("sessionid") != "" {
		t.Fatalf("signup with verification: %d %s", resp.StatusCode, html)
	}
}
