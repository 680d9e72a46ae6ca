package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Admins read their organization's audit log with filters and pages;
// members cannot; a user reads their own account's events; personal API
// keys need audit_log:read; no secret reaches the log.
func TestAuditLogEndpoints(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		if resp, body := owner.Send("PATCH", "/api/organizations/@current/", `{"name":"Acme Audited"}`, true); resp.StatusCode != 200 {
			t.Fatalf("renaming the organization: %d %v", resp.StatusCode, body)
		}
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		inviteID := apitest.MustInvite(t, owner, "later@example.com", 1)
		readKey := apitest.MustKey(t, owner, "audit_log:read")
		otherKey := apitest.MustKey(t, owner, "organization:read")

		resp, body := owner.Send("GET", "/api/organizations/@current/audit_log/", "", false)
		if resp.StatusCode != 200 {
			t.Fatalf("admin reading the audit log: %d %v", resp.StatusCode, body)
		}
		types := strings.Join(apitest.AuditTypes(body), " ")
		for _, want := range []string{"organization.security_settings_changed", "invite.created", "invite.accepted"} {
			if !strings.Contains(types, want) {
				t.Fatalf("the organization's log lacks %s: %s", want, types)
			}
		}
		if strings.Contains(types, "personal_api_key.created") {
			t.Fatalf("a user's key events leaked into the organization log: %s", types)
		}
		renamed := apitest.FindAudit(body, "organization.security_settings_changed")
		change := renamed["changes"].([]any)[0].(map[string]any)
		if change["field"] != "name" || change["old"] != "Acme" || change["new"] != "Acme Audited" {
			t.Fatalf("the rename was recorded as %v", renamed)
		}
		actor := renamed["actor"].(map[string]any)
		client := renamed["client"].(map[string]any)
		if actor["type"] != "user" || actor["email"] != "owner@example.com" || client["address"] == "" || client["address"] == nil {
			t.Fatalf("the rename's actor or client: %v", renamed)
		}
		accepted := apitest.FindAudit(body, "invite.accepted")
		if accepted["actor"].(map[string]any)["email"] != "member@example.com" {
			t.Fatalf("the invite acceptance's actor: %v", accepted)
		}
		raw := fmt.Sprint(body)
		if strings.Contains(raw, inviteID) || strings.Contains(raw, readKey) {
			t.Fatal("the audit log carries an invite link's id or a key")
		}

		// Filters and limit/offset pages.
		_, body = owner.Send("GET", "/api/organizations/@current/audit_log/?event_type=invite.created&limit=1", "", false)
		if body["count"] != float64(2) || len(body["results"].([]any)) != 1 || body["next"] == nil || body["previous"] != nil {
			t.Fatalf("first page of invite.created: %v", body)
		}
		_, body = owner.Send("GET", "/api/organizations/@current/audit_log/?event_type=invite.created&limit=1&offset=1", "", false)
		if len(body["results"].([]any)) != 1 || body["next"] != nil || body["previous"] == nil {
			t.Fatalf("second page of invite.created: %v", body)
		}
		_, body = owner.Send("GET", "/api/organizations/@current/audit_log/?before=2000-01-01", "", false)
		if body["count"] != float64(0) {
			t.Fatalf("events before 2000: %v", body)
		}
		if resp, body := owner.Send("GET", "/api/organizations/@current/audit_log/?limit=-1", "", false); resp.StatusCode != 400 || body["attr"] != "limit" {
			t.Fatalf("a negative limit: %d %v", resp.StatusCode, body)
		}

		// Members are refused; a user reads their own account's events.
		if resp, body := member.Send("GET", "/api/organizations/@current/audit_log/", "", false); resp.StatusCode != 403 {
			t.Fatalf("a member read the organization's audit log: %d %v", resp.StatusCode, body)
		}
		_, body = member.Send("GET", "/api/users/@me/audit_log/", "", false)
		if types := strings.Join(apitest.AuditTypes(body), " "); types != "login.succeeded invite.accepted" {
			t.Fatalf("the member's own events: %s", types)
		}
		_, body = owner.Send("GET", "/api/users/@me/audit_log/?event_type=personal_api_key.created", "", false)
		if body["count"] != float64(2) {
			t.Fatalf("the owner's key events: %v", body)
		}

		// Personal API keys need the audit_log scope.
		if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/organizations/@current/audit_log/", readKey, ""); resp.StatusCode != 200 {
			t.Fatalf("a key with audit_log:read: %d %v", resp.StatusCode, body)
		}
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/audit_log/", readKey, ""); resp.StatusCode != 200 {
			t.Fatalf("a key with audit_log:read on @me: %d", resp.StatusCode)
		}
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/organizations/@current/audit_log/", otherKey, ""); resp.StatusCode != 403 {
			t.Fatalf("a key without audit_log:read: %d", resp.StatusCode)
		}

		v, err := ts.Store.VerifyAudit(context.Background())
		if err != nil || v.Problem != nil || v.Events == 0 {
			t.Fatalf("the chain after the requests: %+v, %v", v, err)
		}
	})
}

// A change made with a personal API key names the key (id and label) and
// its owner as the actor.
func TestAuditActorIsTheKey(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		key := apitest.MustKey(t, owner, "organization_member:write")
		if resp, body := apitest.KeyRequest(t, ts, "POST", "/api/organizations/@current/invites/", key, `{"target_email":"k@example.com"}`); resp.StatusCode != 201 {
			t.Fatalf("inviting with a key: %d %v", resp.StatusCode, body)
		}
		events, _, err := ts.Store.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: gatehouse.AuditInviteCreated})
		if err != nil || len(events) != 1 {
			t.Fatalf("invite events: %v, %v", events, err)
		}
		a := events[0].Actor
		if a.Type != "personal_api_key" || a.KeyID == "" || a.KeyLabel != "test" || a.Email != "owner@example.com" {
			t.Fatalf("the actor of a key's change: %+v", a)
		}
	})
}

// A user's own log shows their sign-ins (with address and browser),
// refused attempts against their email, password changes and logouts;
// no password reaches the log.
func TestAuditAccountEvents(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		wrong := apitest.NewBrowser(t, ts)
		if resp, _ := wrong.Login("owner@example.com", "not the password"); resp.StatusCode == 200 {
			t.Fatal("a wrong password signed in")
		}
		owner := apitest.OwnerBrowser(t, ts)
		if resp, body := owner.Send("PATCH", "/api/users/@me/", `{"current_password":"`+apitest.OwnerPassword+`","password":"`+apitest.GoodPassword+`"}`, true); resp.StatusCode != 200 {
			t.Fatalf("changing the password: %d %v", resp.StatusCode, body)
		}
		_, body := owner.Send("GET", "/api/users/@me/audit_log/", "", false)
		types := strings.Join(apitest.AuditTypes(body), " ")
		if types != "password.changed login.succeeded" {
			t.Fatalf("the owner's own events: %s", types)
		}
		login := apitest.FindAudit(body, "login.succeeded")
		if c := login["client"].(map[string]any); c["address"] != "127.0.0.1" {
			t.Fatalf("the sign-in's client: %v", login)
		}
		if resp, _ := owner.Send("POST", "/api/logout/", "", true); resp.StatusCode != 200 {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		if err := ts.Store.FlushAudit(context.Background()); err != nil {
			t.Fatal(err)
		}
		events, _, err := ts.Store.AuditEvents(context.Background(), gatehouse.AuditFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, ev := range events {
			seen = append(seen, string(ev.Type))
			if ev.Type == gatehouse.AuditLoginFailed && (ev.Reason != "invalid_credentials" || ev.Target.Label != "owner@example.com" || ev.Outcome != "failure") {
				t.Fatalf("the failed sign-in: %+v", ev)
			}
			if ev.Type == gatehouse.AuditLogout && ev.SubjectUUID == "" {
				t.Fatalf("the logout names no account: %+v", ev)
			}
		}
		all := strings.Join(seen, " ")
		for _, want := range []string{"login.failed", "logout"} {
			if !strings.Contains(all, want) {
				t.Fatalf("no %s event: %s", want, all)
			}
		}
		var dump strings.Builder
		ts.Store.ExportAudit(context.Background(), time.Time{}, time.Time{}, func(l []byte) error { dump.Write(l); return nil })
		if strings.Contains(dump.String(), "not the password") || strings.Contains(dump.String(), apitest.OwnerPassword) || strings.Contains(dump.String(), apitest.GoodPassword) {
			t.Fatal("a password reached the audit log")
		}
	})
}

// Allow-list refusals are recorded sampled (1st, 10th, … per address and
// hour) with the count so far, not one event per request.
func TestAuditAllowListRefusalsSampled(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{Allowed: "10.0.0.0/8"})
		for range 25 {
			if resp, _ := ts.Do(t, "GET", "/api/users/@me/", nil); resp.StatusCode != 403 {
				t.Fatalf("a refused address got %d", resp.StatusCode)
			}
		}
		if resp, _ := ts.Do(t, "GET", "/_health", nil); resp.StatusCode != 200 {
			t.Fatalf("/_health: %d", resp.StatusCode)
		}
		if err := ts.Store.FlushAudit(context.Background()); err != nil {
			t.Fatal(err)
		}
		events, n, err := ts.Store.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: gatehouse.AuditAllowListRefused})
		if err != nil || n != 2 {
			t.Fatalf("%d refusal events (%v), want 2 (the 1st and the 10th)", n, err)
		}
		ev := events[0]
		if ev.ClientAddr != "127.0.0.1" || ev.Outcome != "refused" || ev.Target.Label != "/api/users/@me" || ev.Changes[0].New != float64(10) {
			t.Fatalf("the sampled refusal: %+v", ev)
		}
	})
}

// BenchmarkAuditClientMiddleware is what every request (the
// key-authenticated read path included) pays for the audit log: the client
// address and User-Agent put in the context, formatted only if an event is
// recorded. Compared side by side with the bare handler.
func BenchmarkAuditClientMiddleware(b *testing.B) {
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	req := httptest.NewRequest("GET", "/api/users/@me/", nil)
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36")
	res := &netguard.Resolver{}
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"bare", netguard.Middleware(res, nil, bare)}, {"audit-client", netguard.MiddlewareWith(res, nil, netguard.Hooks{Context: httpauth.WithAuditClient}, bare)}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			w := httptest.NewRecorder()
			for b.Loop() {
				tc.h.ServeHTTP(w, req)
			}
		})
	}
}

// The Organization → Audit log page lists the organization's events for
// admins, with the filters; the security activity page lists the user's
// sign-ins with address and browser.
func TestAuditPages(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		if resp, body := owner.Send("PATCH", "/api/organizations/@current/", `{"name":"Acme Paged"}`, true); resp.StatusCode != 200 {
			t.Fatalf("renaming: %d %v", resp.StatusCode, body)
		}
		member := apitest.JoinByInvite(t, ts, owner, "paged@example.com", 1)

		// The account settings page leads to both.
		resp, html := owner.Page("GET", "/settings", nil)
		if resp.StatusCode != 200 || !strings.Contains(html, `href="/settings/security"`) || !strings.Contains(html, `href="/settings/audit_log"`) {
			t.Fatalf("the settings page does not link the audit pages: %d\n%s", resp.StatusCode, html)
		}
		resp, html = owner.Page("GET", "/settings/audit_log", nil)
		if resp.StatusCode != 200 || !strings.Contains(html, `data-type="organization.security_settings_changed"`) ||
			!strings.Contains(html, "name: Acme → Acme Paged") || !strings.Contains(html, `data-type="invite.accepted"`) {
			t.Fatalf("the audit log page: %d\n%s", resp.StatusCode, html)
		}
		_, html = owner.Page("GET", "/settings/audit_log?event_type=invite.created", nil)
		if strings.Contains(html, `data-type="invite.accepted"`) || !strings.Contains(html, `data-type="invite.created"`) {
			t.Fatalf("the filtered page:\n%s", html)
		}
		if resp, _ := member.Page("GET", "/settings/audit_log", nil); resp.StatusCode != 403 {
			t.Fatalf("a member opened the organization's audit log: %d", resp.StatusCode)
		}
		resp, html = member.Page("GET", "/settings/security", nil)
		if resp.StatusCode != 200 || !strings.Contains(html, `data-type="login.succeeded"`) || !strings.Contains(html, "<td>127.0.0.1</td>") ||
			strings.Contains(html, "organization.security_settings_changed") {
			t.Fatalf("the member's security activity: %d\n%s", resp.StatusCode, html)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/settings/security", nil); resp.StatusCode != 302 && resp.StatusCode != 200 {
			t.Fatalf("signed out: %d", resp.StatusCode)
		}
	})
}

// Enabling TOTP, passing the second step and using a backup code are in
// the user's own log; the codes are not.
func TestAuditTwoFactorEvents(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		secret, codes := apitest.EnableTOTP(t, apitest.OwnerBrowser(t, ts), clock.Now())
		apitest.OwnerBrowserWith2FA(t, ts, secret, clock)
		b := apitest.NewBrowser(t, ts)
		b.Login("owner@example.com", apitest.OwnerPassword)
		if resp, body := b.Token(codes[0]); resp.StatusCode != 200 {
			t.Fatalf("backup code step: %d %v", resp.StatusCode, body)
		}
		wrong := apitest.NewBrowser(t, ts)
		wrong.Login("owner@example.com", apitest.OwnerPassword)
		if resp, _ := wrong.Token("aaaaaaaa"); resp.StatusCode == 200 {
			t.Fatal("a wrong backup code passed")
		}
		if err := ts.Store.FlushAudit(context.Background()); err != nil {
			t.Fatal(err)
		}
		_, body := b.Send("GET", "/api/users/@me/audit_log/", "", false)
		types := strings.Join(apitest.AuditTypes(body), " ")
		for _, want := range []string{"two_factor.totp_enabled", "two_factor.passed", "two_factor.backup_code_used", "two_factor.failed"} {
			if !strings.Contains(types, want) {
				t.Fatalf("no %s in the owner's events: %s", want, types)
			}
		}
		if raw := fmt.Sprint(body); strings.Contains(raw, codes[0]) || strings.Contains(raw, codes[1]) {
			t.Fatal("a backup code reached the audit log")
		}
	})
}

// An admin's reset of a member's 2FA is in the organization's log (actor
// the admin) and in the member's own log.
func TestAuditAdminTwoFactorReset(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		owner := apitest.OwnerBrowser(t, ts)
		member := apitest.JoinByInvite(t, ts, owner, "reset-me@example.com", 1)
		apitest.EnableTOTP(t, member, clock.Now())
		_, me := member.Send("GET", "/api/users/@me/", "", false)
		if resp, body := owner.Send("POST", "/api/users/"+me["uuid"].(string)+"/two_factor_reset/", "", true); resp.StatusCode != 200 {
			t.Fatalf("admin reset: %d %v", resp.StatusCode, body)
		}
		_, body := owner.Send("GET", "/api/organizations/@current/audit_log/?event_type=two_factor.admin_reset", "", false)
		if body["count"] != float64(1) {
			t.Fatalf("the organization's log: %v", body)
		}
		ev := body["results"].([]any)[0].(map[string]any)
		if ev["actor"].(map[string]any)["email"] != "owner@example.com" || ev["target"].(map[string]any)["label"] != "reset-me@example.com" {
			t.Fatalf("the reset event: %v", ev)
		}
		_, body = member.Send("GET", "/api/users/@me/audit_log/?event_type=two_factor.admin_reset", "", false)
		if body["count"] != float64(1) {
			t.Fatalf("the member's own log: %v", body)
		}
	})
}

// A personal API key's first use from a network is recorded once, with
// the network, and repeated uses add nothing.
func TestAuditKeyUsedFromNewAddress(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		key := apitest.MustKey(t, apitest.OwnerBrowser(t, ts), "user:read")
		for range 5 {
			if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, ""); resp.StatusCode != 200 {
				t.Fatalf("key request: %d", resp.StatusCode)
			}
		}
		if err := ts.Store.FlushAudit(context.Background()); err != nil {
			t.Fatal(err)
		}
		events, n, err := ts.Store.AuditEvents(context.Background(), gatehouse.AuditFilter{Type: gatehouse.AuditPersonalKeyNewAddress})
		if err != nil || n != 1 {
			t.Fatalf("%d new-address events (%v), want 1", n, err)
		}
		if ev := events[0]; ev.Changes[0].New != "127.0.0.0/24" || ev.Actor.Type != "personal_api_key" || ev.SubjectUUID == "" {
			t.Fatalf("the new-address event: %+v", ev)
		}
	})
}
