package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestLoginSessionAndMe(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.NewBrowser(t, ts)
		if resp, body := b.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 401 || body["code"] != "not_authenticated" ||
			resp.Header.Get("WWW-Authenticate") != "Session" {
			t.Fatalf("anonymous @me: %d %v %v", resp.StatusCode, body, resp.Header)
		}
		resp, body := b.Login("OWNER@example.com", apitest.OwnerPassword)
		if resp.StatusCode != 200 || body["success"] != true {
			t.Fatalf("login: %d %v", resp.StatusCode, body)
		}
		var sessionHeader string
		for _, h := range resp.Header.Values("Set-Cookie") {
			if strings.HasPrefix(h, "sessionid=") {
				sessionHeader = h
			}
		}
		for _, want := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=7776000"} {
			if !strings.Contains(sessionHeader, want) {
				t.Errorf("session cookie %q lacks %s", sessionHeader, want)
			}
		}
		resp, me := b.Send("GET", "/api/users/@me/", "", false)
		if resp.StatusCode != 200 || me["email"] != "owner@example.com" || me["uuid"] != ts.User.UUID || me["is_2fa_enabled"] != false {
			t.Fatalf("@me: %d %v", resp.StatusCode, me)
		}
		if team := me["team"].(map[string]any); team["api_token"] != ts.Project.APIToken {
			t.Fatalf("@me team: %v", team)
		}
		if org := me["organization"].(map[string]any); org["name"] != "Acme" || org["membership_level"] != float64(15) {
			t.Fatalf("@me organization: %v", org)
		}
		exp, err := time.Parse(time.RFC3339, me["sensitive_session_expires_at"].(string))
		if err != nil || time.Until(exp) < 119*time.Minute || time.Until(exp) > 121*time.Minute {
			t.Fatalf("sensitive_session_expires_at %v", me["sensitive_session_expires_at"])
		}
		if b.Cookie("posthog_csrftoken") == "" {
			t.Fatal("no CSRF cookie after login")
		}
	})
}

func TestWrongPasswordAndUnknownEmailAreIdentical(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
	r1, wrong := b.Login("owner@example.com", "not the password")
	r2, unknown := b.Login("nobody@example.com", "not the password")
	if r1.StatusCode != 400 || r2.StatusCode != 400 {
		t.Fatalf("statuses %d %d", r1.StatusCode, r2.StatusCode)
	}
	want := map[string]any{"type": "validation_error", "code": "invalid_credentials", "detail": "Invalid email or password.", "attr": nil}
	for _, got := range []map[string]any{wrong, unknown} {
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("%v: %s = %v, want %v", got, k, got[k], v)
			}
		}
	}
	if b.Cookie("sessionid") != "" {
		t.Fatal("a failed login set a session")
	}
	for _, bad := range []string{`{"email":"owner@example.com"}`, `{"password":"x"}`, `{"email":`, `[]`} {
		resp, body := b.Send("POST", "/api/login", bad, false)
		if resp.StatusCode != 400 {
			t.Fatalf("%s: %d %v", bad, resp.StatusCode, body)
		}
	}
}

func TestPlantedSessionCookieIsNotTheSessionAfterLogin(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	// The attacker signs in and plants their own valid session key in the
	// victim's browser (session fixation), or an arbitrary value.
	attacker := apitest.NewBrowser(t, ts)
	attacker.Login("owner@example.com", apitest.OwnerPassword)
	planted := attacker.Cookie("sessionid")
	victim := apitest.NewBrowser(t, ts)
	victim.SetCookie("sessionid", planted)
	victim.Login("owner@example.com", apitest.OwnerPassword)
	if got := victim.Cookie("sessionid"); got == "" || got == planted {
		t.Fatalf("login kept the planted session key")
	}
	// The planted key was ended server-side at the victim's login.
	if resp, _ := attacker.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 401 {
		t.Fatalf("planted session still works: %d", resp.StatusCode)
	}
	if resp, _ := victim.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 200 {
		t.Fatalf("victim's new session refused: %d", resp.StatusCode)
	}
	// An arbitrary planted value is simply replaced.
	other := apitest.NewBrowser(t, ts)
	other.SetCookie("sessionid", "attacker-chosen-value")
	other.Login("owner@example.com", apitest.OwnerPassword)
	if other.Cookie("sessionid") == "attacker-chosen-value" {
		t.Fatal("arbitrary planted value survived login")
	}
}

func TestLogoutRevokesServerSide(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.NewBrowser(t, ts)
		b.Login("owner@example.com", apitest.OwnerPassword)
		stolen := b.Cookie("sessionid")
		if resp, body := b.Send("POST", "/api/logout/", "", true); resp.StatusCode != 200 || body["success"] != true {
			t.Fatalf("logout: %d %v", resp.StatusCode, body)
		}
		// Replaying the old cookie from elsewhere does not work.
		thief := apitest.NewBrowser(t, ts)
		thief.SetCookie("sessionid", stolen)
		if resp, _ := thief.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 401 {
			t.Fatalf("session alive after logout: %d", resp.StatusCode)
		}
		// The page logout (web.Pages.Logout) redirects to the login page,
		// which says so.
		b.Login("owner@example.com", apitest.OwnerPassword)
		resp, _ := b.Send("POST", "/logout", "", true)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login?message=logged_out" {
			t.Fatalf("/logout: %d %v", resp.StatusCode, resp.Header)
		}
		if resp, _ := b.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 401 {
			t.Fatalf("session alive after /logout: %d", resp.StatusCode)
		}
	})
}

func TestCSRFOnSessionRequests(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
	b.Login("owner@example.com", apitest.OwnerPassword)
	token := b.Cookie("posthog_csrftoken")
	for _, tc := range []struct {
		name   string
		header []string
	}{
		{"no token", nil},
		{"wrong token", []string{"X-CSRFToken", apitest.FlipLast(token)}},
		{"right token, foreign origin", []string{"X-CSRFToken", token, "Origin", "https://evil.example.net"}},
	} {
		resp, body := b.Send("POST", "/api/logout", "", false, tc.header...)
		if resp.StatusCode != 403 || body["code"] != "csrf_failed" {
			t.Fatalf("%s: %d %v", tc.name, resp.StatusCode, body)
		}
	}
	if resp, _ := b.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 200 {
		t.Fatal("a refused CSRF request changed something")
	}
	// The site's own origin with the token is accepted.
	if resp, _ := b.Send("POST", "/api/logout", "", true, "Origin", "https://gatehouse.example.com"); resp.StatusCode != 200 {
		t.Fatalf("own origin refused: %d", resp.StatusCode)
	}
	// Login itself needs no CSRF token (there is no session yet).
	if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
		t.Fatalf("login without CSRF: %d", resp.StatusCode)
	}
}

func TestSessionExpiresAbsolutely(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := func() time.Time { return now }
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Now: clock})
	b := apitest.NewBrowser(t, ts)
	b.Login("owner@example.com", apitest.OwnerPassword)
	now = now.Add(89 * 24 * time.Hour)
	if resp, _ := b.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 200 {
		t.Fatalf("session refused before 90 days: %d", resp.StatusCode)
	}
	now = now.Add(24*time.Hour + time.Second)
	if resp, _ := b.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 401 {
		t.Fatalf("session alive after 90 days: %d", resp.StatusCode)
	}
}

func TestLoginUpgradesLegacyHash(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	ctx := context.Background()
	// PBKDF2 hash of "posthog-test-pw" (salt "somesalt", 1000 rounds), as
	// an account imported from PostHog would have.
	legacy := gatehouse.Secret("pbkdf2_sha256$1000$somesalt$MJe7FjtDgLzxR82v0SGnOwfvrtQGIJpe6Ytoa0N/QBs=")
	if err := ts.Store.SetPasswordHash(ctx, ts.User.ID, legacy); err != nil {
		t.Fatal(err)
	}
	b := apitest.NewBrowser(t, ts)
	if resp, body := b.Login("owner@example.com", "posthog-test-pw"); resp.StatusCode != 200 {
		t.Fatalf("legacy login: %d %v", resp.StatusCode, body)
	}
	u, _ := ts.Store.UserByID(ctx, ts.User.ID)
	if !strings.HasPrefix(u.PasswordHash.Reveal(), "argon2$argon2id$") {
		t.Fatalf("hash not upgraded: %.20s…", u.PasswordHash.Reveal())
	}
	if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", "posthog-test-pw"); resp.StatusCode != 200 {
		t.Fatal("login with the upgraded hash failed")
	}
}

func TestPrecheck(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
	resp, body := b.Send("POST", "/api/login/precheck", `{"email":"owner@example.com"}`, false)
	if resp.StatusCode != 200 || body["sso_enforcement"] != nil || body["saml_available"] != false {
		t.Fatalf("precheck: %d %v", resp.StatusCode, body)
	}
	if _, ok := body["sso_enforcement"]; !ok {
		t.Fatal("sso_enforcement must be present (null)")
	}
	resp, body = b.Send("POST", "/api/login/precheck/", `{"email":"not an email"}`, false)
	if resp.StatusCode != 400 || body["attr"] != "email" {
		t.Fatalf("bad email: %d %v", resp.StatusCode, body)
	}
}
