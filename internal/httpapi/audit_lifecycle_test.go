package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Member level changes and removals land in the organization's audit log;
// an email change request and its confirmation in the user's own log; an
// account deletion in the organizations the account belonged to.
func TestAuditMembersEmailChangeAndDeletion(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := newTestServer(t, engine, serverOptions{})
		owner := ownerBrowser(t, ts)
		joinByInvite(t, ts, owner, "member@example.com", 1)
		leaver := joinByInvite(t, ts, owner, "leaver@example.com", 1)
		uuids := memberUUIDs(t, owner)
		if code, body := setLevel(owner, uuids["member@example.com"], 8); code != 200 {
			t.Fatalf("promoting: %d %v", code, body)
		}
		if resp, body := owner.send("DELETE", "/api/organizations/@current/members/"+uuids["member@example.com"]+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("removing: %d %v", resp.StatusCode, body)
		}
		if resp, body := leaver.send("DELETE", "/api/users/@me/", "", true); resp.StatusCode != 204 {
			t.Fatalf("deleting an account: %d %v", resp.StatusCode, body)
		}
		resp, body := owner.send("GET", "/api/organizations/@current/audit_log/", "", false)
		if resp.StatusCode != 200 {
			t.Fatalf("reading the log: %d %v", resp.StatusCode, body)
		}
		changed := findAudit(body, "member.level_changed")
		if changed == nil {
			t.Fatalf("no member.level_changed in %v", auditTypes(body))
		}
		c := changed["changes"].([]any)[0].(map[string]any)
		if c["field"] != "level" || c["old"] != float64(1) || c["new"] != float64(8) ||
			changed["target"].(map[string]any)["id"] != uuids["member@example.com"] {
			t.Fatalf("the level change was recorded as %v", changed)
		}
		if removed := findAudit(body, "member.removed"); removed == nil || removed["target"].(map[string]any)["id"] != uuids["member@example.com"] {
			t.Fatalf("member.removed: %v in %v", removed, auditTypes(body))
		}
		if deleted := findAudit(body, "account.deleted"); deleted == nil || deleted["target"].(map[string]any)["label"] != "leaver@example.com" {
			t.Fatalf("account.deleted: %v in %v", deleted, auditTypes(body))
		}

		token := requestEmailChangeToken(t, ts, owner, "ada@new.example")
		if code, body := confirmEmail(ts, newBrowser(t, ts), token); code != 200 {
			t.Fatalf("confirming: %d %v", code, body)
		}
		b := newBrowser(t, ts)
		if resp, body := b.login("ada@new.example", ownerPassword); resp.StatusCode != 200 {
			t.Fatalf("signing in with the new address: %d %v", resp.StatusCode, body)
		}
		resp, body = b.send("GET", "/api/users/@me/audit_log/", "", false)
		if resp.StatusCode != 200 {
			t.Fatalf("reading the account log: %d %v", resp.StatusCode, body)
		}
		types := strings.Join(auditTypes(body), " ")
		for _, want := range []string{"email.change_requested", "email.change_confirmed"} {
			ev := findAudit(body, want)
			if ev == nil {
				t.Fatalf("the account log lacks %s: %s", want, types)
			}
			c := ev["changes"].([]any)[0].(map[string]any)
			if c["old"] != "owner@example.com" || c["new"] != "ada@new.example" {
				t.Fatalf("%s recorded as %v", want, ev)
			}
			if strings.Contains(fmt.Sprint(ev), token) {
				t.Fatalf("%s carries the link's token", want)
			}
		}
	})
}
