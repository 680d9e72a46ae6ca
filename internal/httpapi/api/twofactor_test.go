package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestTwoFactorSetupStatusAndDisable(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		b := apitest.OwnerBrowser(t, ts)

		resp, body := b.Send("POST", "/api/users/@me/two_factor_validate/", `{"token":"123456"}`, true)
		apitest.WantCode(t, "validate before setup", resp, body, 400, "setup_expired")
		resp, body = b.Send("POST", "/api/users/@me/two_factor_backup_codes/", "", true)
		apitest.WantCode(t, "backup codes without 2FA", resp, body, 400, "2fa_not_enabled")
		_, st := b.Send("GET", "/api/users/@me/two_factor_status/", "", false)
		if st["is_enabled"] != false || st["method"] != nil || st["backup_codes_remaining"] != float64(0) {
			t.Fatalf("status before: %v", st)
		}

		// A set-up secret waits 600 s for its first code.
		b.Send("GET", "/api/users/@me/two_factor_start_setup/", "", false)
		clock.Add(601 * time.Second)
		resp, body = b.Send("POST", "/api/users/@me/two_factor_validate/", `{"token":"123456"}`, true)
		apitest.WantCode(t, "validate after 600 s", resp, body, 400, "setup_expired")

		_, body = b.Send("GET", "/api/users/@me/start_2fa_setup/", "", false)
		secret, _ := mfa.DecodeSecret(body["secret"].(string))
		wrong := mfa.Code(secret, mfa.Step(clock.Now())+5)
		resp, body = b.Send("POST", "/api/users/@me/two_factor_validate/", `{"token":"`+wrong+`"}`, true)
		apitest.WantCode(t, "wrong setup code", resp, body, 400, "token_invalid")
		if body["attr"] != "token" {
			t.Fatalf("attr %v", body["attr"])
		}
		if resp, _ := b.Send("POST", "/api/users/@me/two_factor_validate/", `{"token":"`+clock.Code(secret)+`"}`, false); resp.StatusCode != 403 {
			t.Fatalf("validate without CSRF: %d", resp.StatusCode)
		}
		resp, body = b.Send("POST", "/api/users/@me/validate_2fa/", `{"token":"`+clock.Code(secret)+`"}`, true)
		if resp.StatusCode != 200 || len(body["backup_codes"].([]any)) != 10 {
			t.Fatalf("validate: %d %v", resp.StatusCode, body)
		}
		if len(apitest.MailsWithSubject(ts, "You've enabled 2FA protection")) != 1 {
			t.Fatal("no 2FA-enabled email")
		}
		_, st = b.Send("GET", "/api/users/@me/two_factor_status/", "", false)
		if st["is_enabled"] != true || st["method"] != "TOTP" || st["has_totp"] != true || st["backup_codes_remaining"] != float64(10) ||
			len(st["backup_codes"].([]any)) != 0 {
			t.Fatalf("status after: %v", st)
		}
		if _, me := b.Send("GET", "/api/users/@me/", "", false); me["is_2fa_enabled"] != true {
			t.Fatalf("@me is_2fa_enabled %v", me["is_2fa_enabled"])
		}
		resp, body = b.Send("POST", "/api/users/@me/two_factor_backup_codes/", "", true)
		if resp.StatusCode != 200 || len(body["backup_codes"].([]any)) != 10 {
			t.Fatalf("regenerate: %d %v", resp.StatusCode, body)
		}

		// Sensitive actions need a sign-in within 2 hours.
		clock.Add(2*time.Hour + time.Minute)
		for _, p := range []string{"two_factor_backup_codes", "two_factor_disable", "two_factor_validate"} {
			resp, body = b.Send("POST", "/api/users/@me/"+p+"/", `{"token":"123456"}`, true)
			apitest.WantCode(t, p+" on an old session", resp, body, 403, "permission_denied")
		}
		b = apitest.OwnerBrowserWith2FA(t, ts, secret, clock)
		resp, body = b.Send("POST", "/api/users/@me/two_factor_disable/", "", true)
		if resp.StatusCode != 200 || body["success"] != true {
			t.Fatalf("disable: %d %v", resp.StatusCode, body)
		}
		if len(apitest.MailsWithSubject(ts, "You've disabled 2FA protection")) != 1 {
			t.Fatal("no 2FA-disabled email")
		}
		if _, st = b.Send("GET", "/api/users/@me/two_factor_status/", "", false); st["is_enabled"] != false {
			t.Fatalf("status after disable: %v", st)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("login after disable: %d", resp.StatusCode)
		}
	})
}

func TestLoginSecondStep(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		secret, _ := apitest.EnableTOTP(t, apitest.OwnerBrowser(t, ts), clock.Now())
		sessionsBefore := countSessions(t, ts)

		b := apitest.NewBrowser(t, ts)
		resp, body := b.Login("owner@example.com", apitest.OwnerPassword)
		if resp.StatusCode != 401 || body["type"] != "server_error" || body["code"] != "2fa_required" || body["detail"] != "2FA is required." || body["attr"] != nil {
			t.Fatalf("password step: %d %v", resp.StatusCode, body)
		}
		if apitest.SetCookieHeader(resp, "sessionid=") != "" || countSessions(t, ts) != sessionsBefore {
			t.Fatal("the password step created a session")
		}
		if pending := apitest.SetCookieHeader(resp, httpauth.PendingLoginCookie+"="); !strings.Contains(pending, "HttpOnly") || !strings.Contains(pending, "Max-Age=600") {
			t.Fatalf("pending cookie %q", pending)
		}
		if resp, _ := b.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 401 {
			t.Fatalf("@me after the password step: %d", resp.StatusCode)
		}
		// The code of the step used at set-up is spent (replay).
		resp, body = b.Token(clock.Code(secret))
		apitest.WantCode(t, "set-up code replayed", resp, body, 400, "2fa_invalid")
		resp, body = b.Token(mfa.Code(secret, mfa.Step(clock.Now())-2))
		apitest.WantCode(t, "code two steps old", resp, body, 400, "2fa_invalid")
		resp, body = b.Token(mfa.Code(secret, mfa.Step(clock.Now())+2))
		apitest.WantCode(t, "code two steps ahead", resp, body, 400, "2fa_invalid")
		for _, bad := range []string{"", "12345", "abcdefgh", "1234567", strings.Repeat("9", 5000)} {
			resp, body = b.Token(bad)
			if resp.StatusCode != 400 {
				t.Fatalf("token %.10q: %d %v", bad, resp.StatusCode, body)
			}
		}
		// One step ahead is within the tolerance.
		resp, body = b.Token(mfa.Code(secret, mfa.Step(clock.Now())+1))
		if resp.StatusCode != 200 || body["success"] != true {
			t.Fatalf("second step: %d %v", resp.StatusCode, body)
		}
		if apitest.SetCookieHeader(resp, "sessionid=") == "" {
			t.Fatal("no session after the second step")
		}
		remember := apitest.SetCookieHeader(resp, httpauth.RememberCookiePrefix)
		for _, want := range []string{"HttpOnly", "Secure", "SameSite=Strict", "Path=/", "Max-Age=2592000"} {
			if !strings.Contains(remember, want) {
				t.Errorf("remember cookie %q lacks %s", remember, want)
			}
		}
		if resp, me := b.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 || me["is_2fa_enabled"] != true {
			t.Fatalf("@me after the second step: %d %v", resp.StatusCode, me)
		}
		// The pending login is spent.
		resp, body = b.Token(mfa.Code(secret, mfa.Step(clock.Now())+1))
		apitest.WantCode(t, "second use of the pending login", resp, body, 401, "not_authenticated")

		// The same code in another browser, even within its window, is a replay.
		b2 := apitest.NewBrowser(t, ts)
		b2.Login("owner@example.com", apitest.OwnerPassword)
		resp, body = b2.Token(mfa.Code(secret, mfa.Step(clock.Now())+1))
		apitest.WantCode(t, "replay in another browser", resp, body, 400, "2fa_invalid")

		// The second step expires 600 s after the password step.
		clock.Add(600*time.Second + time.Second)
		resp, body = b2.Token(clock.Code(secret))
		apitest.WantCode(t, "expired second step", resp, body, 400, "2fa_expired")
		resp, body = b2.Token(clock.Code(secret))
		apitest.WantCode(t, "after expiry", resp, body, 401, "not_authenticated")
		// Without any pending login.
		resp, body = apitest.NewBrowser(t, ts).Token(clock.Code(secret))
		apitest.WantCode(t, "no pending login", resp, body, 401, "not_authenticated")
		// Just inside the window works.
		b3 := apitest.NewBrowser(t, ts)
		b3.Login("owner@example.com", apitest.OwnerPassword)
		clock.Add(600 * time.Second)
		if resp, body := b3.Token(clock.Code(secret)); resp.StatusCode != 200 {
			t.Fatalf("second step at 600 s: %d %v", resp.StatusCode, body)
		}
	})
}

func countSessions(t *testing.T, ts *apitest.Server) int {
	t.Helper()
	var n int
	if err := ts.Store.DB().QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSecondStepThrottle(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		secret, _ := apitest.EnableTOTP(t, apitest.OwnerBrowser(t, ts), clock.Now())
		clock.Add(30 * time.Second)
		b := apitest.NewBrowser(t, ts)
		b.Login("owner@example.com", apitest.OwnerPassword)
		wrong := mfa.Code(secret, mfa.Step(clock.Now())+7)
		for i := 0; i < 10; i++ {
			// Past the free wrong codes, each waits out the growing delay.
			clock.Add(ratelimit.TwoFactorDelay(int64(i)))
			resp, body := b.Token(wrong)
			want := "2fa_invalid"
			if i == 9 {
				want = "2fa_too_many_attempts" // the pending login's last try
			}
			apitest.WantCode(t, fmt.Sprintf("attempt %d", i+1), resp, body, 400, want)
		}
		// The limit is per user: a fresh pending login does not reset it,
		// and even the right code is refused.
		b2 := apitest.NewBrowser(t, ts)
		b2.Login("owner@example.com", apitest.OwnerPassword)
		resp, body := b2.Token(clock.Code(secret))
		apitest.WantCode(t, "11th attempt", resp, body, 429, "throttled")
		if resp.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
		clock.Add(61 * time.Second)
		if resp, body := b2.Token(clock.Code(secret)); resp.StatusCode != 200 {
			t.Fatalf("after a minute: %d %v", resp.StatusCode, body)
		}
	})
}

func TestBackupCodeUsedOnceConcurrently(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		_, codes := apitest.EnableTOTP(t, apitest.OwnerBrowser(t, ts), clock.Now())
		const n = 6
		browsers := make([]*apitest.Browser, n)
		for i := range browsers {
			browsers[i] = apitest.NewBrowser(t, ts)
			if resp, _ := browsers[i].Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 401 {
				t.Fatalf("password step %d: %d", i, resp.StatusCode)
			}
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, b := range browsers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				raw, _ := json.Marshal(map[string]string{"token": strings.ToUpper(codes[3])})
				req, _ := http.NewRequest("POST", ts.URL+"/api/login/token/", strings.NewReader(string(raw)))
				req.Header.Set("Content-Type", "application/json")
				resp, err := b.Client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					wins.Add(1)
				} else if resp.StatusCode != 400 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("one backup code signed in %d times", wins.Load())
		}
		if m := apitest.MailsWithSubject(ts, "A backup code was used for your account"); len(m) != 1 || m[0].To != "owner@example.com" || strings.Contains(m[0].Text, codes[3]) {
			t.Fatalf("backup-code emails: %+v", m)
		}
		b := apitest.NewBrowser(t, ts)
		b.Login("owner@example.com", apitest.OwnerPassword)
		// The race's losers count as wrong codes: wait out their delay.
		clock.Add(time.Minute)
		resp, body := b.Token(codes[3])
		apitest.WantCode(t, "used backup code", resp, body, 400, "2fa_invalid")
		clock.Add(time.Minute)
		if resp, body := b.Token(codes[4]); resp.StatusCode != 200 {
			t.Fatalf("another backup code: %d %v", resp.StatusCode, body)
		}
		_, st := b.Send("GET", "/api/users/@me/two_factor_status/", "", false)
		if st["backup_codes_remaining"] != float64(8) {
			t.Fatalf("remaining %v", st["backup_codes_remaining"])
		}
	})
}

func TestRememberDevice(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		secret, _ := apitest.EnableTOTP(t, apitest.OwnerBrowser(t, ts), clock.Now())
		b := apitest.OwnerBrowserWith2FA(t, ts, secret, clock)
		b.Send("POST", "/api/logout/", "", true)
		if resp, body := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("remembered browser asked again: %d %v", resp.StatusCode, body)
		}
		list := func(b *apitest.Browser) []map[string]any {
			t.Helper()
			code, out := b.List("/api/users/@me/trusted_devices/")
			if code != 200 {
				t.Fatalf("trusted devices: %d", code)
			}
			return out
		}
		devices := list(b)
		if len(devices) != 1 || devices[0]["is_current"] != true || devices[0]["id"] == "" {
			t.Fatalf("trusted devices %v", devices)
		}
		// A forged or another user's cookie does not skip the step.
		other := apitest.NewBrowser(t, ts)
		other.SetCookie(httpauth.RememberCookiePrefix+devices[0]["id"].(string), "forged")
		if resp, _ := other.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 401 {
			t.Fatalf("forged remember cookie: %d", resp.StatusCode)
		}

		// A password change ends every remembered device.
		raw, _ := json.Marshal(map[string]string{"password": apitest.GoodPassword, "current_password": apitest.OwnerPassword})
		if resp, body := b.Send("PATCH", "/api/users/@me/", string(raw), true); resp.StatusCode != 200 {
			t.Fatalf("password change: %d %v", resp.StatusCode, body)
		}
		if len(list(b)) != 0 {
			t.Fatal("trusted devices survive a password change")
		}
		b.Send("POST", "/api/logout/", "", true)
		resp, body := b.Login("owner@example.com", apitest.GoodPassword)
		apitest.WantCode(t, "login after password change", resp, body, 401, "2fa_required")
		clock.Add(30 * time.Second)
		if resp, body := b.Token(clock.Code(secret)); resp.StatusCode != 200 {
			t.Fatalf("second step: %d %v", resp.StatusCode, body)
		}

		// Deleting the device (one or all) ends it too.
		devices = list(b)
		if len(devices) != 1 {
			t.Fatalf("devices %v", devices)
		}
		if resp, _ := b.Send("DELETE", "/api/users/@me/trusted_devices/"+gatehouse.NewUUID()+"/", "", true); resp.StatusCode != 404 {
			t.Fatalf("deleting an unknown device: %d", resp.StatusCode)
		}
		if resp, _ := b.Send("DELETE", "/api/users/@me/trusted_devices/"+devices[0]["id"].(string)+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("deleting a device: %d", resp.StatusCode)
		}
		b.Send("POST", "/api/logout/", "", true)
		resp, body = b.Login("owner@example.com", apitest.GoodPassword)
		apitest.WantCode(t, "login after forgetting the device", resp, body, 401, "2fa_required")

		// It expires after 30 days.
		clock.Add(30 * time.Second)
		b.Token(clock.Code(secret))
		b.Send("POST", "/api/logout/", "", true)
		clock.Add(30*24*time.Hour + time.Second)
		resp, body = b.Login("owner@example.com", apitest.GoodPassword)
		apitest.WantCode(t, "login after 30 days", resp, body, 401, "2fa_required")
	})
}

func TestTwoFactorEnforcement(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		b := apitest.OwnerBrowser(t, ts)
		old := apitest.OwnerBrowser(t, ts) // a session that will not pass 2FA
		resp, key := b.Send("POST", "/api/personal_api_keys/", `{"label":"ci","scopes":["*"]}`, true)
		keyValue, _ := key["value"].(string)
		if resp.StatusCode != 201 || keyValue == "" {
			t.Logf("personal API keys unavailable (%d): the key row of the matrix is skipped", resp.StatusCode)
		}
		apitest.Enforce2FA(t, ts)

		blocked := "/api/users/@me/login_sessions/"
		resp, body := b.Send("GET", blocked, "", false)
		if resp.StatusCode != 403 || body["code"] != "two_factor_setup_required" || body["type"] != "authentication_error" || body["detail"] != "2FA setup required" {
			t.Fatalf("no TOTP: %d %v", resp.StatusCode, body)
		}
		for _, p := range []string{"/api/users/@me/", "/api/users/@me/two_factor_status/", "/api/users/@me/two_factor_status"} {
			if resp, body := b.Send("GET", p, "", false); resp.StatusCode != 200 {
				t.Fatalf("whitelisted %s: %d %v", p, resp.StatusCode, body)
			}
		}
		// Web pages send the user to set-up instead.
		if resp, _ := b.Page("GET", "/settings", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != httpauth.TwoFactorSetupPage {
			t.Fatalf("page under enforcement: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		if keyValue != "" {
			resp, body := apitest.NewBrowser(t, ts).Send("GET", "/api/users/@me/trusted_devices/", "", false, "Authorization", "Bearer "+keyValue)
			if code, _ := body["code"].(string); resp.StatusCode == 403 && strings.HasPrefix(code, "two_factor_") {
				t.Fatalf("API key request subject to 2FA enforcement: %v", body)
			}
		}

		secret, _ := apitest.EnableTOTP(t, b, clock.Now())
		if resp, body := b.Send("GET", blocked, "", false); resp.StatusCode != 200 {
			t.Fatalf("the session that set up TOTP: %d %v", resp.StatusCode, body)
		}
		resp, body = old.Send("GET", blocked, "", false)
		if resp.StatusCode != 403 || body["code"] != "two_factor_verification_required" || body["detail"] != "2FA verification required" {
			t.Fatalf("unverified session: %d %v", resp.StatusCode, body)
		}
		if resp, _ := old.Send("POST", "/api/logout/", "", true); resp.StatusCode != 200 {
			t.Fatalf("logout is whitelisted: %d", resp.StatusCode)
		}
		fresh := apitest.OwnerBrowserWith2FA(t, ts, secret, clock)
		if resp, body := fresh.Send("GET", blocked, "", false); resp.StatusCode != 200 {
			t.Fatalf("verified session: %d %v", resp.StatusCode, body)
		}
		// A remembered device's login counts as verified.
		fresh.Send("POST", "/api/logout/", "", true)
		fresh.Login("owner@example.com", apitest.OwnerPassword)
		if resp, body := fresh.Send("GET", blocked, "", false); resp.StatusCode != 200 {
			t.Fatalf("remembered-device session: %d %v", resp.StatusCode, body)
		}
	})
}

func TestAdminTwoFactorResetPermissions(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now, MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)
		admin := apitest.JoinByInvite(t, ts, owner, "admin@example.com", 8)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		outsider := apitest.NewBrowser(t, ts)
		if resp, body := outsider.Send("POST", "/api/signup/", `{"email":"out@example.com","password":"`+apitest.GoodPassword+`","first_name":"O","organization_name":"Other"}`, false); resp.StatusCode != 201 {
			t.Fatalf("outsider signup: %d %v", resp.StatusCode, body)
		}
		uuidOf := func(b *apitest.Browser) string {
			_, me := b.Send("GET", "/api/users/@me/", "", false)
			return me["uuid"].(string)
		}
		ownerID, adminID, memberID := uuidOf(owner), uuidOf(admin), uuidOf(member)
		apitest.EnableTOTP(t, owner, clock.Now())
		apitest.EnableTOTP(t, admin, clock.Now())
		apitest.EnableTOTP(t, member, clock.Now())
		reset := func(actor *apitest.Browser, target string) (*http.Response, map[string]any) {
			return actor.Send("POST", "/api/users/"+target+"/two_factor_reset/", "", true)
		}
		enabled := func(b *apitest.Browser) bool {
			_, st := b.Send("GET", "/api/users/@me/two_factor_status/", "", false)
			return st["is_enabled"] == true
		}
		for _, tc := range []struct {
			name   string
			actor  *apitest.Browser
			target string
			status int
		}{
			{"member resets admin", member, adminID, 403},
			{"member resets owner", member, ownerID, 403},
			{"admin resets owner", admin, ownerID, 403},
			{"outsider resets member", outsider, memberID, 404},
			{"unknown user", owner, gatehouse.NewUUID(), 404},
			{"anonymous", apitest.NewBrowser(t, ts), memberID, 401},
		} {
			if resp, body := reset(tc.actor, tc.target); resp.StatusCode != tc.status {
				t.Fatalf("%s: %d %v, want %d", tc.name, resp.StatusCode, body, tc.status)
			}
		}
		if !enabled(owner) || !enabled(admin) || !enabled(member) {
			t.Fatal("a refused reset removed 2FA")
		}
		if resp, body := reset(admin, memberID); resp.StatusCode != 200 || body["success"] != true {
			t.Fatalf("admin resets member: %d %v", resp.StatusCode, body)
		}
		if enabled(member) {
			t.Fatal("member still has 2FA")
		}
		if m := apitest.MailsWithSubject(ts, "Your 2FA was reset by an administrator"); len(m) != 1 || m[0].To != "member@example.com" || !strings.Contains(m[0].Text, "admin@example.com") {
			t.Fatalf("reset emails %+v", m)
		}
		if resp, _ := reset(owner, adminID); resp.StatusCode != 200 || enabled(admin) {
			t.Fatalf("owner resets admin: %d", resp.StatusCode)
		}
		// Instance staff may reset anyone.
		ts.ExecSQL(t, `UPDATE users SET is_staff = TRUE WHERE email = 'out@example.com'`)
		if resp, body := reset(outsider, ownerID); resp.StatusCode != 200 || enabled(owner) {
			t.Fatalf("staff resets owner: %d %v", resp.StatusCode, body)
		}
		// The reset needs a recent sign-in of the admin.
		apitest.EnableTOTP(t, member, clock.Now().Add(30*time.Second))
		clock.Add(3 * time.Hour)
		resp, body := reset(outsider, memberID)
		apitest.WantCode(t, "reset on an old session", resp, body, 403, "permission_denied")
	})
}

func TestEmailMFA(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now, EmailMFA: true})
		b := apitest.NewBrowser(t, ts)
		resp, body := b.Login("owner@example.com", apitest.OwnerPassword)
		if resp.StatusCode != 401 || body["code"] != "email_mfa_required" || body["detail"] != "owner@example.com" || apitest.SetCookieHeader(resp, "sessionid=") != "" {
			t.Fatalf("password step: %d %v", resp.StatusCode, body)
		}
		email, token := apitest.EmailMFAToken(t, ts)
		complete := func(b *apitest.Browser, email, token string) (*http.Response, map[string]any) {
			raw, _ := json.Marshal(map[string]string{"email": email, "token": token})
			return b.Send("POST", "/api/login/email-mfa/", string(raw), false)
		}
		for _, bad := range []struct{ email, token string }{
			{email, apitest.FlipLast(token)},
			{"member@example.com", token},
			{email, ""},
			{email, "garbage"},
		} {
			if resp, body := complete(b, bad.email, bad.token); resp.StatusCode != 400 {
				t.Fatalf("bad link %v: %d %v", bad, resp.StatusCode, body)
			}
		}
		resp, body = complete(b, email, token)
		if resp.StatusCode != 200 || body["success"] != true || apitest.SetCookieHeader(resp, httpauth.RememberCookiePrefix) == "" {
			t.Fatalf("email MFA: %d %v", resp.StatusCode, body)
		}
		if resp, _ := b.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 {
			t.Fatalf("@me: %d", resp.StatusCode)
		}
		if resp, body := complete(apitest.NewBrowser(t, ts), email, token); resp.StatusCode != 400 || !strings.Contains(body["detail"].(string), "invalid or has expired") {
			t.Fatalf("reused link: %d %v", resp.StatusCode, body)
		}
		// The remembered browser skips the email step.
		b.Send("POST", "/api/logout/", "", true)
		if resp, body := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("remembered login: %d %v", resp.StatusCode, body)
		}

		// A link expires after 15 minutes.
		b2 := apitest.NewBrowser(t, ts)
		b2.Login("owner@example.com", apitest.OwnerPassword)
		_, token = apitest.EmailMFAToken(t, ts)
		clock.Add(15*time.Minute + time.Second)
		if resp, _ := complete(b2, email, token); resp.StatusCode != 400 {
			t.Fatalf("expired link: %d", resp.StatusCode)
		}

		// Resend needs a pending login, and links are limited to 5 per hour.
		resp, body = apitest.NewBrowser(t, ts).Send("POST", "/api/login/email-mfa/resend/", "", false)
		apitest.WantCode(t, "resend without pending login", resp, body, 400, "no_pending_verification")
		clock.Add(time.Hour)
		b3 := apitest.NewBrowser(t, ts)
		b3.Login("owner@example.com", apitest.OwnerPassword) // 1st link this hour
		for i := 2; i <= 5; i++ {
			if resp, body := b3.Send("POST", "/api/login/email-mfa/resend/", "", false); resp.StatusCode != 200 || body["message"] != "Verification email sent" {
				t.Fatalf("resend %d: %d %v", i, resp.StatusCode, body)
			}
		}
		resp, body = b3.Send("POST", "/api/login/email-mfa/resend/", "", false)
		apitest.WantCode(t, "6th link in an hour", resp, body, 429, "throttled")
		if _, token := apitest.EmailMFAToken(t, ts); true {
			if resp, body := complete(b3, email, token); resp.StatusCode != 200 {
				t.Fatalf("newest link: %d %v", resp.StatusCode, body)
			}
		}

		// A user with TOTP gets the TOTP step, not the email one.
		clock.Add(time.Minute)
		apitest.EnableTOTP(t, b3, clock.Now())
		resp, body = apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword)
		apitest.WantCode(t, "TOTP user", resp, body, 401, "2fa_required")
	})
}

// Re-authentication (docs/posthog-compat.md#login): a password login from a browser that
// already holds a live session of the user skips the email step even
// without a remembered device; a fresh browser still gets it.
func TestEmailMFASkippedOnReauth(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{EmailMFA: true})
	b := apitest.NewBrowser(t, ts)
	b.Login("owner@example.com", apitest.OwnerPassword)
	email, token := apitest.EmailMFAToken(t, ts)
	raw, _ := json.Marshal(map[string]string{"email": email, "token": token})
	if resp, body := b.Send("POST", "/api/login/email-mfa/", string(raw), false); resp.StatusCode != 200 {
		t.Fatalf("email MFA: %d %v", resp.StatusCode, body)
	}
	// Only the session cookie, no remember-device cookie.
	signedIn := apitest.NewBrowser(t, ts)
	signedIn.SetCookie(httpauth.SessionCookie, b.Cookie(httpauth.SessionCookie))
	mails := len(ts.Mail.Messages())
	if resp, body := signedIn.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
		t.Fatalf("re-auth: %d %v", resp.StatusCode, body)
	}
	if n := len(ts.Mail.Messages()); n != mails {
		t.Fatalf("re-auth mailed %d messages", n-mails)
	}
	if resp, body := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 401 || body["code"] != "email_mfa_required" {
		t.Fatalf("fresh browser: %d %v", resp.StatusCode, body)
	}
}

// docs/posthog-compat.md#two-factor-enforcement rules 2 and 4: a session an SSO backend created, and a user whose
// email domain enforces SSO, are not held to the organization's 2FA; a
// password session of the same user is.
func TestTwoFactorEnforcementSparesSSO(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		apitest.Enforce2FA(t, ts)
		blocked := "/api/users/@me/login_sessions/"
		session := func(method string) *apitest.Browser {
			t.Helper()
			key, hash := gatehouse.NewSessionKey()
			now := time.Now().UTC()
			s := &gatehouse.Session{PublicID: gatehouse.NewUUID(), UserID: ts.User.ID, CreatedAt: now, LastActivityAt: now,
				ExpiresAt: now.Add(time.Hour), LoginMethod: method}
			if err := ts.Store.CreateSession(context.Background(), hash, s); err != nil {
				t.Fatal(err)
			}
			b := apitest.NewBrowser(t, ts)
			b.SetCookie(httpauth.SessionCookie, key.Reveal())
			return b
		}
		if resp, body := session("password").Send("GET", blocked, "", false); resp.StatusCode != 403 || body["code"] != "two_factor_setup_required" {
			t.Fatalf("password session: %d %v", resp.StatusCode, body)
		}
		for _, method := range []string{"github", "google-oauth2", "saml"} {
			if resp, body := session(method).Send("GET", blocked, "", false); resp.StatusCode != 200 {
				t.Fatalf("%s session under 2FA enforcement: %d %v", method, resp.StatusCode, body)
			}
		}
		// The owner's domain starts enforcing SAML: 2FA is no longer asked.
		verified := time.Now()
		if err := ts.Store.CreateDomain(context.Background(), &gatehouse.OrganizationDomain{ID: gatehouse.NewUUID(), OrganizationID: ts.User.CurrentOrganizationID,
			Domain: "example.com", VerificationChallenge: "c", VerifiedAt: &verified, SSOEnforcement: "saml",
			SAMLEntityID: "e", SAMLACSURL: "https://idp.example/sso", SAMLX509Cert: "c", CreatedAt: verified}); err != nil {
			t.Fatal(err)
		}
		if resp, body := session("password").Send("GET", blocked, "", false); resp.StatusCode != 200 {
			t.Fatalf("password session of an SSO-enforced domain: %d %v", resp.StatusCode, body)
		}
	})
}
