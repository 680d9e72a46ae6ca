package web_test

import (
	"html/template"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestLoginPageRendersCSRFField(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
	resp, html := b.Page("GET", "/login?message=session_expired", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /login: %d %v", resp.StatusCode, resp.Header)
	}
	if apitest.FormToken(t, html) != b.Cookie("posthog_csrftoken") || b.Cookie("posthog_csrftoken") == "" {
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
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	for name, token := range map[string]string{"missing": "", "wrong": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		b := apitest.NewBrowser(t, ts)
		b.Page("GET", "/login", nil) // gets the cookie
		form := url.Values{"email": {"owner@example.com"}, "password": {apitest.OwnerPassword}}
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
	b0 := apitest.NewBrowser(t, ts)
	_, html := b0.Page("GET", "/login", nil)
	b0.Extra = []string{"Origin", "https://evil.example"}
	if resp, _ := b0.Page("POST", "/login", url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, html)}, "email": {"owner@example.com"}, "password": {apitest.OwnerPassword}}); resp.StatusCode != 403 || b0.Cookie("sessionid") != "" {
		t.Fatalf("foreign Origin: %d", resp.StatusCode)
	}
	// No cookie at all, even with a field: refused.
	b := apitest.NewBrowser(t, ts)
	resp, _ := b.Page("POST", "/login", url.Values{httpauth.CSRFFormField: {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, "email": {"owner@example.com"}, "password": {apitest.OwnerPassword}})
	if resp.StatusCode != 403 || b.Cookie("sessionid") != "" {
		t.Fatalf("no cookie: %d", resp.StatusCode)
	}
}

func TestLoginFormSignsInAndLogsOut(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.NewBrowser(t, ts)
		if resp, _ := b.Page("GET", "/", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("anonymous home: %d %v", resp.StatusCode, resp.Header)
		}
		resp, _ := b.Submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": apitest.OwnerPassword})
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
		resp, _ = b.Page("POST", "/logout", url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, html)}})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?message=logged_out" {
			t.Fatalf("logout: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, _ := b.Page("GET", "/", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("home after logout: %d", resp.StatusCode)
		}
	})
}

func TestLoginFormNext(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	for _, tc := range []struct{ next, want string }{
		{"/settings", "/settings"},
		{"/project/1?tab=keys", "/project/1?tab=keys"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"/\t/evil.example", "/"},
		{"", "/"},
	} {
		b := apitest.NewBrowser(t, ts)
		_, html := b.Page("GET", "/login?next="+url.QueryEscape(tc.next), nil)
		form := url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, html)}, "email": {"owner@example.com"}, "password": {apitest.OwnerPassword}, "next": {tc.next}}
		resp, _ := b.Page("POST", "/login", form)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != tc.want {
			t.Errorf("next=%q: %d %q", tc.next, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// The login page carries a safe next into its form, and drops an unsafe one.
	_, html := apitest.NewBrowser(t, ts).Page("GET", "/login?next=/settings", nil)
	if !strings.Contains(html, `name="next" value="/settings"`) {
		t.Error("next not carried into the form")
	}
	_, html = apitest.NewBrowser(t, ts).Page("GET", "/login?next=//evil.example", nil)
	if strings.Contains(html, "evil.example") {
		t.Error("unsafe next carried into the form")
	}
}

func TestLoginFormErrors(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
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
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
	for i := 1; i <= 4; i++ {
		if resp, _ := b.Submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": "wrong guess"}); resp.StatusCode != 400 {
			t.Fatalf("failure %d: %d", i, resp.StatusCode)
		}
	}
	for _, pw := range []string{"wrong guess", apitest.OwnerPassword} {
		resp, html := b.Submit("/login", "/login", map[string]string{"email": "owner@example.com", "password": pw})
		if resp.StatusCode != 403 || !strings.Contains(html, apitest.LockedDetail) || b.Cookie("sessionid") != "" {
			t.Fatalf("want the lockout page, got %d %s", resp.StatusCode, html)
		}
	}
}

func TestSignupForm(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{Empty: true})
		b := apitest.NewBrowser(t, ts)
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
		fields["password"] = apitest.GoodPassword
		resp, _ = b.Submit("/signup", "/signup", fields)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" || b.Cookie("sessionid") == "" {
			t.Fatalf("signup: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, html := b.Page("GET", "/", nil); resp.StatusCode != 200 || !strings.Contains(html, "grace@example.com") {
			t.Fatalf("home after signup: %d %s", resp.StatusCode, html)
		}
		// A second organization is refused at the top of the form.
		resp, html = apitest.NewBrowser(t, ts).Submit("/signup", "/signup", map[string]string{"first_name": "Ada", "email": "ada@example.com", "password": apitest.GoodPassword})
		if resp.StatusCode != 403 || !strings.Contains(html, `<p class="error" role="alert" id="form-error">New organizations cannot be created`) {
			t.Fatalf("second signup: %d %s", resp.StatusCode, html)
		}
	})
}

func TestSignupFormRequiresCSRF(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Empty: true})
	b := apitest.NewBrowser(t, ts)
	b.Page("GET", "/signup", nil)
	resp, _ := b.Page("POST", "/signup", url.Values{"first_name": {"Grace"}, "email": {"grace@example.com"}, "password": {apitest.GoodPassword}})
	if resp.StatusCode != 403 {
		t.Fatalf("signup without token: %d", resp.StatusCode)
	}
	if _, err := ts.Store.UserByEmail(t.Context(), "grace@example.com"); !store.IsNotFound(err) {
		t.Fatal("a signup without CSRF token created a user")
	}
}

func TestSignupFormWithEmailVerification(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Empty: true, VerifyEmail: true})
	b := apitest.NewBrowser(t, ts)
	resp, html := b.Submit("/signup", "/signup", map[string]string{"first_name": "Grace", "email": "grace@example.com", "password": apitest.GoodPassword})
	if resp.StatusCode != 200 || !strings.Contains(html, "Check your email") || b.Cookie("sessionid") != "" {
		t.Fatalf("signup with verification: %d %s", resp.StatusCode, html)
	}
}
