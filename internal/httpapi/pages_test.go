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
func (b *Browser) Page(method, path string, form url.Values) (*http.Response, string) {
	b.T.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.Ts.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(b.Extra); i += 2 {
		req.Header.Set(b.Extra[i], b.Extra[i+1])
	}
	resp, err := b.Client.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer resp.Body.Close()
	html, _ := io.ReadAll(resp.Body)
	return resp, string(html)
}

// formToken is the hidden CSRF field of a rendered form.
func FormToken(t *testing.T, html string) string {
	t.Helper()
	m := csrfFieldRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrfmiddlewaretoken field in:\n%s", html)
	}
	return m[1]
}

// submit loads the form page at formPath and posts fields to postPath with
// the form's CSRF token, as a browser does.
func (b *Browser) Submit(formPath, postPath string, fields map[string]string) (*http.Response, string) {
	b.T.Helper()
	resp, html := b.Page("GET", formPath, nil)
	if resp.StatusCode != 200 {
		b.T.Fatalf("GET %s: %d", formPath, resp.StatusCode)
	}
	form := url.Values{httpauth.CSRFFormField: {FormToken(b.T, html)}}
	for k, v := range fields {
		form.Set(k, v)
	}
	return b.Page("POST", postPath, form)
}

func TestLoginPageRendersCSRFField(t *testing.T) {
	ts := NewServer(t, store.SQLite, Options{})
	b := NewBrowser(t, ts)
	resp, html := b.Page("GET", "/login?message=session_expired", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /login: %d %v", resp.StatusCode, resp.Header)
	}
	if FormToken(t, html) != b.Cookie("posthog_csrftoken") || b.Cookie("posthog_csrftoken") == "" {
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
	resp, css := b.Page("GET", "/static/gatehouse.css", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, "field-error") {
		t.Fatalf("stylesheet: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := b.Page("GET", "/no-such-page", nil); resp.StatusCode != 404 {
		t.Fatalf("the home page swallowed other paths: %d", resp.StatusCode)
	}
}

func TestLoginFormRequiresCSRF(t *testing.T) {
	ts := NewServer(t, store.SQLite, Options{})
	for name, token := range map[string]string{"missing": "", "wrong": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		b := NewBrowser(t, ts)
		b.Page("GET", "/login", nil) // gets the cookie
		form := url.Values{"email": {"owner@example.com"}, "password": {OwnerPassword}}
		if token != "" {
			form.Set(httpauth.CSRFFormField, token)
		}
		resp, body := b.Page("POST", "/login", form)
		if resp.StatusCode != 403 || !strings.Contains(body, "CSRF verification failed. Reload the page and try again.") {
			t.Fatalf("%s token: %d %s", name, resp.StatusCode, body)
		}
		if b.Cookie("sessionid") != "" {
			t.Fatalf("%s token: a session was started", name)
		}
	}
	// The right token from another site's page (Origin) is refused.
	b0 := NewBrowser(t, ts)
	_, html := b0.Page("GET", "/login", nil)
	b0.Extra = []string{"Origin", "https://evil.example"}
	if resp, _ := b0.Page("POST", "/login", url.Values{httpauth.CSRFFormField: {FormToken(t, html)}, "email": {"owner@example.com"}, "password": {OwnerPassword}}); resp.StatusCode != 403 || b0.Cookie("sessionid") != "" {
		t.Fatalf("foreign Origin: %d", resp.StatusCode)
	}
	// No cookie at all, even with a field: refused.
	b := NewBrowser(t, ts)
	resp, _ := b.Page("POST", "/login", url.Values{httpauth.CSRFFormField: {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "email": {"owner@example.com"}, "password": {OwnerPassword}})
	if resp.StatusCode != 403 || b.Cookie("sessionid") != "" {
		t.Fatalf("no cookie: %d", resp.StatusCode)
	}
}

func TestLoginFormSignsInAndLogsOut(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{})
		b := NewBrowser(t, ts)
		if resp, _ := b.Page("GET", "/", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("anonymous home: %d %v", resp.StatusCode, resp.Header)
		}
		resp, _ := b.Submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": OwnerPassword})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" || b.Cookie("sessionid") == "" {
			t.Fatalf("login: %d %v", resp.StatusCode, resp.Header)
		}
		resp, html := b.Page("GET", "/", nil)
		if resp.StatusCode != 200 || !strings.Contains(html, "Signed in as <strong>owner@example.com</strong>") ||
			resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("home: %d %s", resp.StatusCode, html)
		}
		// The logout form without its token is refused; with it, the session ends.
		if resp, _ := b.Page("POST", "/logout", url.Values{}); resp.StatusCode != 403 {
			t.Fatalf("logout without token: %d", resp.StatusCode)
		}
		resp, _ = b.Page("POST", "/logout", url.Values{httpauth.CSRFFormField: {FormToken(t, html)}})
		if resp.StatusCode != 302 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("logout: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, _ := b.Page("GET", "/", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("home after logout: %d", resp.StatusCode)
		}
	})
}

func TestLoginFormNext(t *testing.T) {
	ts := NewServer(t, store.SQLite, Options{})
	for _, tc := range []struct{ next, want string }{
		{"/settings", "/settings"},
		{"/project/1?tab=keys", "/project/1?tab=keys"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"/\t/evil.example", "/"},
		{"", "/"},
	} {
		b := NewBrowser(t, ts)
		_, html := b.Page("GET", "/login?next="+url.QueryEscape(tc.next), nil)
		form := url.Values{httpauth.CSRFFormField: {FormToken(t, html)}, "email": {"owner@example.com"}, "password": {OwnerPassword}, "next": {tc.next}}
		resp, _ := b.Page("POST", "/login", form)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != tc.want {
			t.Errorf("next=%q: %d %q", tc.next, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The login page carries a safe next into its form, and drops an unsafe one.
	_, html := NewBrowser(t, ts).Page("GET", "/login?next=/settings", nil)
	if !strings.Contains(html, `name="next" value="/settings"`) {
		t.Error("next not carried into the form")
	}
	_, html = NewBrowser(t, ts).Page("GET", "/login?next=//evil.example", nil)
	if strings.Contains(html, "evil.example") {
		t.Error("unsafe next carried into the form")
	}
}

func TestLoginFormErrors(t *testing.T) {
	ts := NewServer(t, store.SQLite, Options{})
	b := NewBrowser(t, ts)
	const wrong = "wrong guess 12345"
	resp, html := b.Submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": wrong})
	if resp.StatusCode != 400 || !strings.Contains(html, "Invalid email or password.") ||
		!strings.Contains(html, `value="owner@example.com"`) || strings.Contains(html, wrong) {
		t.Fatalf("wrong password: %d %s", resp.StatusCode, html)
	}
	if b.Cookie("sessionid") != "" {
		t.Fatal("a failed login started a session")
	}
	// A missing field is shown next to it.
	resp, html = b.Submit("/login", "/login", map[string]string{"email": "owner@example.com"})
	if resp.StatusCode != 400 || !strings.Contains(html, `<span class="field-error" id="password-error">This field is required.</span>`) ||
		!strings.Contains(html, `aria-describedby="password-error"`) {
		t.Fatalf("missing password: %d %s", resp.StatusCode, html)
	}
	// HTML in what was typed comes back escaped.
	resp, html = b.Submit("/login", "/login", map[string]string{"email": `"><script>alert(1)</script>`, "password": wrong})
	if resp.StatusCode != 400 || strings.Contains(html, "<script>") || !strings.Contains(html, `value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`) {
		t.Fatalf("escaping: %d %s", resp.StatusCode, html)
	}
}

func TestLoginFormLockout(t *testing.T) {
	ts := NewServer(t, store.SQLite, Options{})
	b := NewBrowser(t, ts)
	for i := 1; i <= 4; i++ {
		if resp, _ := b.Submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": "wrong guess"}); resp.StatusCode != 400 {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	for _, pw := range []string{"wrong guess", OwnerPassword} {
		resp, html := b.Submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": pw})
		if resp.StatusCode != 403 || !strings.Contains(html, LockedDetail) || b.Cookie("sessionid") != "" {
			t.Fatalf("want the lockout page, got %d %s", resp.StatusCode, html)
		}
	}
}

func TestSignupForm(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{Empty: true})
		b := NewBrowser(t, ts)
		fields := map[string]string{"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
			"password": "password123", "organization_name": "Navy"}
		weak, _ := gatehouse.AsError(password.CheckStrength("password123", "grace@example.com", "Grace", "Hopper"))
		if weak == nil || weak.Detail == "" {
			t.Fatal("password123 is not refused by the policy")
		}
		resp, html := b.Submit("/signup", "/signup", fields)
		if resp.StatusCode != 400 || !strings.Contains(html, `<span class="field-error" id="password-error">`+template.HTMLEscapeString(weak.Detail)+`</span>`) ||
			!strings.Contains(html, `value="grace@example.com"`) || strings.Contains(html, "password123") {
			t.Fatalf("weak password: %d %s", resp.StatusCode, html)
		}
		for _, want := range []string{`autocomplete="new-password"`, `autocomplete="given-name"`, `<label for="organization_name">`} {
			if !strings.Contains(html, want) {
				t.Errorf("signup page lacks %s", want)
			}
		}
		fields["password"] = GoodPassword
		resp, _ = b.Submit("/signup", "/signup", fields)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" || b.Cookie("sessionid") == "" {
			t.Fatalf("signup: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, html := b.Page("GET", "/", nil); resp.StatusCode != 200 || !strings.Contains(html, "grace@example.com") {
			t.Fatalf("home after signup: %d %s", resp.StatusCode, html)
		}
		// A second organization is refused at the top of the form.
		resp, html = NewBrowser(t, ts).Submit("/signup", "/signup", map[string]string{"first_name": "Ada", "email": "ada@example.com", "password": GoodPassword})
		if resp.StatusCode != 403 || !strings.Contains(html, `<p class="error" role="alert" id="form-error">New organizations cannot be created`) {
			t.Fatalf("second signup: %d %s", resp.StatusCode, html)
		}
	})
}

func TestSignupFormRequiresCSRF(t *testing.T) {
	ts := NewServer(t, store.SQLite, Options{Empty: true})
	b := NewBrowser(t, ts)
	b.Page("GET", "/signup", nil)
	resp, _ := b.Page("POST", "/signup", url.Values{"first_name": {"Grace"}, "email": {"grace@example.com"}, "password": {GoodPassword}})
	if resp.StatusCode != 403 {
		t.Fatalf("signup without token: %d", resp.StatusCode)
	}
	if _, err := ts.Store.UserByEmail(t.Context(), "grace@example.com"); !store.IsNotFound(err) {
		t.Fatal("a signup without CSRF token created a user")
	}
}

func TestSignupFormWithEmailVerification(t *testing.T) {
	ts := NewServer(t, store.SQLite, Options{Empty: true, VerifyEmail: true})
	b := NewBrowser(t, ts)
	resp, html := b.Submit("/signup", "/signup", map[string]string{"first_name": "Grace", "email": "grace@example.com", "password": GoodPassword})
	if resp.StatusCode != 200 || !strings.Contains(html, "Check your email") || b.Cookie("sessionid") != "" {
		t.Fatalf("signup with verification: %d %s", resp.StatusCode, html)
	}
}
