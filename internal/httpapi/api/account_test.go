package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestUpdateNamesAndPasswordChange(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		other := apitest.NewBrowser(t, ts)
		other.Login("owner@example.com", apitest.OwnerPassword)
		b := apitest.NewBrowser(t, ts)
		b.Login("owner@example.com", apitest.OwnerPassword)

		resp, me := b.Send("PATCH", "/api/users/@me/", `{"first_name":"  Ada ","last_name":"Lovelace"}`, true)
		if resp.StatusCode != 200 || me["first_name"] != "Ada" || me["last_name"] != "Lovelace" {
			t.Fatalf("names: %d %v", resp.StatusCode, me)
		}
		for _, tc := range []struct {
			name, body, code, attr string
		}{
			{"no current password", `{"password":"a brand new passphrase 42"}`, "required", "current_password"},
			{"wrong current password", `{"password":"a brand new passphrase 42","current_password":"nope"}`, "incorrect_password", "current_password"},
			{"weak new password", `{"password":"password1","current_password":"` + apitest.OwnerPassword + `"}`, "password_too_weak", "password"},
			{"short new password", `{"password":"abc","current_password":"` + apitest.OwnerPassword + `"}`, "password_too_short", "password"},
		} {
			resp, body := b.Send("PATCH", "/api/users/@me", tc.body, true)
			if resp.StatusCode != 400 || body["code"] != tc.code || body["attr"] != tc.attr {
				t.Fatalf("%s: %d %v", tc.name, resp.StatusCode, body)
			}
		}
		// Nothing above changed the password or ended a session.
		if resp, _ := other.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 200 {
			t.Fatal("a refused change ended another session")
		}
		resp, body := b.Send("PATCH", "/api/users/@me", `{"password":"a brand new passphrase 42","current_password":"`+apitest.OwnerPassword+`"}`, true)
		if resp.StatusCode != 200 {
			t.Fatalf("change: %d %v", resp.StatusCode, body)
		}
		if resp, _ := b.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 200 {
			t.Fatal("the current session must survive the change")
		}
		if resp, _ := other.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 401 {
			t.Fatal("other sessions must end at a password change")
		}
		if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 400 {
			t.Fatal("the old password still works")
		}
		if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", "a brand new passphrase 42"); resp.StatusCode != 200 {
			t.Fatal("the new password does not work")
		}
		// The change is CSRF-protected.
		if resp, _ := b.Send("PATCH", "/api/users/@me", `{"first_name":"Eve"}`, false); resp.StatusCode != 403 {
			t.Fatalf("PATCH without CSRF: %d", resp.StatusCode)
		}
	})
}

func TestSensitiveActionsNeedRecentLogin(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)
	b.Login("owner@example.com", apitest.OwnerPassword)
	// Age the session past two hours.
	ctxSessions, _ := ts.Store.UserSessions(t.Context(), ts.User.ID, time.Now())
	if len(ctxSessions) != 1 {
		t.Fatalf("sessions: %v", ctxSessions)
	}
	if _, err := ts.Store.DB().ExecContext(t.Context(), `UPDATE sessions SET created_at = ?`, time.Now().Add(-3*time.Hour).UTC()); err != nil {
		t.Fatal(err)
	}
	for _, req := range []struct{ method, path, body string }{
		{"PATCH", "/api/users/@me", `{"password":"a brand new passphrase 42","current_password":"` + apitest.OwnerPassword + `"}`},
		{"POST", "/api/users/@me/login_sessions/revoke_others", ""},
		{"DELETE", "/api/users/@me/login_sessions/" + ctxSessions[0].PublicID, ""},
	} {
		resp, body := b.Send(req.method, req.path, req.body, true)
		if resp.StatusCode != 403 || body["detail"] != "This action requires you to be recently authenticated." {
			t.Fatalf("%s %s: %d %v", req.method, req.path, resp.StatusCode, body)
		}
	}
	// Harmless changes stay allowed.
	if resp, _ := b.Send("PATCH", "/api/users/@me", `{"first_name":"Ada"}`, true); resp.StatusCode != 200 {
		t.Fatalf("name change on an old session: %d", resp.StatusCode)
	}
}

func TestLoginSessionsListAndRevoke(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		phone := apitest.NewBrowser(t, ts)
		phone.Extra = []string{"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Version/18.0 Mobile Safari/604.1"}
		phone.Login("owner@example.com", apitest.OwnerPassword)
		laptop := apitest.NewBrowser(t, ts)
		laptop.Extra = []string{"User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"}
		laptop.Login("owner@example.com", apitest.OwnerPassword)
		tablet := apitest.NewBrowser(t, ts)
		tablet.Login("owner@example.com", apitest.OwnerPassword)

		code, list := laptop.List("/api/users/@me/login_sessions/")
		if code != 200 || len(list) != 3 || list[0]["is_current"] != true || list[0]["device"] != "Firefox on Linux" || list[0]["login_method"] != "password" {
			t.Fatalf("list: %d %v", code, list)
		}
		var phoneID string
		for _, s := range list {
			if s["device"] == "Safari on iOS" {
				phoneID = s["id"].(string)
			}
		}
		if phoneID == "" {
			t.Fatalf("phone session not listed: %v", list)
		}
		if resp, _ := laptop.Send("DELETE", "/api/users/@me/login_sessions/"+phoneID+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("revoke: %d", resp.StatusCode)
		}
		if resp, _ := phone.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 401 {
			t.Fatal("revoked session still works")
		}
		if resp, body := laptop.Send("DELETE", "/api/users/@me/login_sessions/"+phoneID, "", true); resp.StatusCode != 404 || body["detail"] != "Login session not found." {
			t.Fatalf("revoke twice: %d %v", resp.StatusCode, body)
		}
		resp, body := laptop.Send("POST", "/api/users/@me/login_sessions/revoke_others/", "", true)
		if resp.StatusCode != 200 || body["revoked_count"] != float64(1) {
			t.Fatalf("revoke_others: %d %v", resp.StatusCode, body)
		}
		if resp, _ := tablet.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 401 {
			t.Fatal("revoke_others left a session")
		}
		if code, list := laptop.List("/api/users/@me/login_sessions"); code != 200 || len(list) != 1 {
			t.Fatalf("after revoke_others: %v", list)
		}
	})
}

func TestShortUserAgent(t *testing.T) {
	t.Parallel()
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36":        "Chrome on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15": "Safari on macOS",
		"Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 Chrome/140.0 Safari/537.36 Edg/140.0":                              "Edge on Windows",
		"curl/8.5.0": "curl",
		"":           "Unknown browser",
	} {
		if got := httpauth.ShortUserAgent(ua); !strings.EqualFold(got, want) {
			t.Errorf("%q → %q, want %q", ua, got, want)
		}
	}
}
