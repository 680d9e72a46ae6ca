package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var revokeFormRE = regexp.MustCompile(`action="/settings/sessions/([0-9a-f-]{36})/revoke"`)

func TestSettingsPage(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	if resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/settings", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login?next=/settings" {
		t.Fatalf("anonymous settings: %d %v", resp.StatusCode, resp.Header)
	}
	phone := apitest.NewBrowser(t, ts)
	phone.Login("owner@example.com", apitest.OwnerPassword)
	b := apitest.NewBrowser(t, ts)
	b.Login("owner@example.com", apitest.OwnerPassword)

	// Names.
	resp, _ := b.Submit("/settings", "/settings/profile", map[string]string{"first_name": "Ada", "last_name": "Lovelace"})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/settings?done=profile" {
		t.Fatalf("save name: %d %v", resp.StatusCode, resp.Header)
	}
	_, html := b.Page("GET", "/settings?done=profile", nil)
	if !strings.Contains(html, "Your name was saved.") || !strings.Contains(html, `value="Lovelace"`) {
		t.Fatalf("settings after saving the name:\n%s", html)
	}

	// A wrong current password is shown next to its field and changes nothing.
	resp, html = b.Submit("/settings", "/settings/password", map[string]string{"current_password": "nope", "password": "lighthouse keeper 7 oranges"})
	if resp.StatusCode != 400 || !strings.Contains(html, `id="current_password-error">Your current password is incorrect.`) {
		t.Fatalf("wrong current password: %d\n%s", resp.StatusCode, html)
	}
	if resp, _ := phone.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 200 {
		t.Fatal("a refused change signed out another session")
	}

	// Another session is listed with a sign-out button; the current one is not.
	_, html = b.Page("GET", "/settings", nil)
	ids := revokeFormRE.FindAllStringSubmatch(html, -1)
	if len(ids) != 1 || !strings.Contains(html, "(this browser)") {
		t.Fatalf("session list: %v\n%s", ids, html)
	}
	resp, _ = b.Page("POST", "/settings/sessions/"+ids[0][1]+"/revoke", url.Values{httpauth.CSRFFormField: {apitest.FormToken(t, html)}})
	if resp.StatusCode != 303 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	if resp, _ := phone.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 401 {
		t.Fatal("the revoked session still works")
	}
	// Without the token the forms are refused.
	if resp, _ := b.Page("POST", "/settings/profile", url.Values{"first_name": {"Eve"}}); resp.StatusCode != 403 {
		t.Fatalf("profile form without CSRF: %d", resp.StatusCode)
	}
}
