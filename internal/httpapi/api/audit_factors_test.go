package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// A passkey answering the second sign-in step records two_factor.passed
// with target "passkey"; a passwordless passkey sign-in records
// login.succeeded with the passkey method. No assertion reaches the log.
func TestAuditPasskeySecondFactor(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		cred, _ := apitest.RegisterPasskey(t, owner, "laptop")
		if resp, me := owner.Send("PATCH", "/api/users/@me/", `{"passkeys_enabled_for_2fa":true}`, true); resp.StatusCode != 200 {
			t.Fatalf("enable passkey 2FA: %d %v", resp.StatusCode, me)
		}
		b := apitest.NewBrowser(t, ts)
		if resp, out := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 401 || out["code"] != "2fa_required" {
			t.Fatalf("password login: %d %v", resp.StatusCode, out)
		}
		o := apitest.Begin(t, b, "/api/login/2fa/passkey/begin/", false)
		var a map[string]any
		assertion := cred.Assertion(t, o.Challenge, apitest.Answer{})
		json.Unmarshal([]byte(assertion), &a)
		raw, _ := json.Marshal(map[string]any{"credential_id": a["rawId"], "response": a["response"]})
		if resp, out := b.Send("POST", "/api/login/token/", string(raw), false); resp.StatusCode != 200 {
			t.Fatalf("passkey second step: %d %v", resp.StatusCode, out)
		}
		if status, out := apitest.PasskeyLogin(t, apitest.NewBrowser(t, ts), cred, apitest.Answer{}); status != 200 {
			t.Fatalf("passwordless login: %d %v", status, out)
		}
		_, body := b.Send("GET", "/api/users/@me/audit_log/?event_type=two_factor.passed", "", false)
		if body["count"] != float64(1) {
			t.Fatalf("two_factor.passed events: %v", body)
		}
		ev := apitest.FindAudit(body, "two_factor.passed")
		if tg := ev["target"].(map[string]any); tg["id"] != "passkey" || ev["actor"].(map[string]any)["email"] != "owner@example.com" {
			t.Fatalf("the passkey second-step event: %v", ev)
		}
		_, body = b.Send("GET", "/api/users/@me/audit_log/?event_type=login.succeeded", "", false)
		passkeyLogins := 0
		for _, r := range body["results"].([]any) {
			if r.(map[string]any)["target"].(map[string]any)["label"] == "passkey" {
				passkeyLogins++
			}
		}
		if passkeyLogins != 1 {
			t.Fatalf("%d passkey sign-ins in %v, want 1", passkeyLogins, body)
		}
		_, all := b.Send("GET", "/api/users/@me/audit_log/", "", false)
		if s := fmt.Sprint(all); strings.Contains(s, a["rawId"].(string)) || strings.Contains(s, o.Challenge) {
			t.Fatal("a credential id or challenge reached the audit log")
		}
	})
}

// Issuing an email second-factor link records email_mfa.sent (a resend
// too) and following it email_mfa.used; the link's token never appears.
func TestAuditEmailMFA(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now, EmailMFA: true})
		b := apitest.NewBrowser(t, ts)
		if resp, body := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 401 || body["code"] != "email_mfa_required" {
			t.Fatalf("password step: %d %v", resp.StatusCode, body)
		}
		if resp, body := b.Send("POST", "/api/login/email-mfa/resend/", "", false); resp.StatusCode != 200 {
			t.Fatalf("resend: %d %v", resp.StatusCode, body)
		}
		email, token := apitest.EmailMFAToken(t, ts)
		raw, _ := json.Marshal(map[string]string{"email": email, "token": token})
		if resp, body := b.Send("POST", "/api/login/email-mfa/", string(raw), false); resp.StatusCode != 200 {
			t.Fatalf("email MFA: %d %v", resp.StatusCode, body)
		}
		// A used link records nothing more.
		if resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/login/email-mfa/", string(raw), false); resp.StatusCode != 400 {
			t.Fatalf("reused link: %d", resp.StatusCode)
		}
		for typ, want := range map[string]float64{"email_mfa.sent": 2, "email_mfa.used": 1} {
			resp, body := b.Send("GET", "/api/users/@me/audit_log/?event_type="+typ, "", false)
			if resp.StatusCode != http.StatusOK || body["count"] != want {
				t.Fatalf("%s: %d %v, want %v", typ, resp.StatusCode, body, want)
			}
			ev := apitest.FindAudit(body, typ)
			if ev["actor"].(map[string]any)["email"] != "owner@example.com" || ev["subject_uuid"] == nil || ev["outcome"] != "success" {
				t.Fatalf("the %s event: %v", typ, ev)
			}
		}
		_, all := b.Send("GET", "/api/users/@me/audit_log/", "", false)
		if s := fmt.Sprint(all); strings.Contains(s, token) || strings.Contains(s, strings.Split(token, "-")[1]) {
			t.Fatal("the email link's token reached the audit log")
		}
	})
}

// A personal API key refused because it expired records
// personal_api_key.expired (refused, the key as target) once, however many
// times it is presented within the hour.
func TestAuditPersonalKeyExpired(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		created := apitest.CreateKey(t, apitest.OwnerBrowser(t, ts), map[string]any{"label": "forgotten", "scopes": []string{"*"}})
		id, key := created["id"].(string), created["value"].(string)
		if err := ts.Store.SetPersonalAPIKeyTimes(context.Background(), id, time.Now().UTC().AddDate(0, 0, -400), time.Time{}); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, ""); resp.StatusCode != 401 {
				t.Fatalf("expired key: %d", resp.StatusCode)
			}
		}
		if err := ts.Store.FlushAudit(context.Background()); err != nil {
			t.Fatal(err)
		}
		events, n, err := ts.Store.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: gatehouse.AuditPersonalKeyExpired})
		if err != nil || n != 1 {
			t.Fatalf("%d expired-key events (%v), want 1", n, err)
		}
		ev := events[0]
		if ev.Outcome != gatehouse.AuditRefused || ev.Target.ID != id || ev.Target.Label != "forgotten" || ev.Actor.Type != "personal_api_key" || ev.SubjectUUID != ts.User.UUID {
			t.Fatalf("the expired-key event: %+v", ev)
		}
		if s := fmt.Sprintf("%+v", ev); strings.Contains(s, key) {
			t.Fatal("the key reached the audit log")
		}
	})
}
