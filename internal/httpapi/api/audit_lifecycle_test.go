package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Member level changes and removals land in the organization's audit log;
// an email change request and its confirmation in the user's own log; an
// account deletion in the organizations the account belonged to.
func TestAuditMembersEmailChangeAndDeletion(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		leaver := apitest.JoinByInvite(t, ts, owner, "leaver@example.com", 1)
		uuids := apitest.MemberUUIDs(t, owner)
		if code, body := apitest.SetLevel(owner, uuids["member@example.com"], 8); code != 200 {
			t.Fatalf("promoting: %d %v", code, body)
		}
		if resp, body := owner.Send("DELETE", "/api/organizations/@current/members/"+uuids["member@example.com"]+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("removing: %d %v", resp.StatusCode, body)
		}
		if resp, body := leaver.Send("DELETE", "/api/users/@me/", "", true); resp.StatusCode != 204 {
			t.Fatalf("deleting an account: %d %v", resp.StatusCode, body)
		}
		resp, body := owner.Send("GET", "/api/organizations/@current/audit_log/", "", false)
		if resp.StatusCode != 200 {
			t.Fatalf("reading the log: %d %v", resp.StatusCode, body)
		}
		changed := apitest.FindAudit(body, "member.level_changed")
		if changed == nil {
			t.Fatalf("no member.level_changed in %v", apitest.AuditTypes(body))
		}
		c := changed["changes"].([]any)[0].(map[string]any)
		if c["field"] != "level" || c["old"] != float64(1) || c["new"] != float64(8) ||
			changed["target"].(map[string]any)["id"] != uuids["member@example.com"] {
			t.Fatalf("the level change was recorded as %v", changed)
		}
		if removed := apitest.FindAudit(body, "member.removed"); removed == nil || removed["target"].(map[string]any)["id"] != uuids["member@example.com"] {
			t.Fatalf("member.removed: %v in %v", removed, apitest.AuditTypes(body))
		}
		if deleted := apitest.FindAudit(body, "account.deleted"); deleted == nil || deleted["target"].(map[string]any)["label"] != "leaver@example.com" {
			t.Fatalf("account.deleted: %v in %v", deleted, apitest.AuditTypes(body))
		}

		token := apitest.RequestEmailChangeToken(t, ts, owner, "ada@new.example")
		if code, body := apitest.ConfirmEmail(ts, apitest.NewBrowser(t, ts), token); code != 200 {
			t.Fatalf("confirming: %d %v", code, body)
		}
		b := apitest.NewBrowser(t, ts)
		if resp, body := b.Login("ada@new.example", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("signing in with the new address: %d %v", resp.StatusCode, body)
		}
		resp, body = b.Send("GET", "/api/users/@me/audit_log/", "", false)
		if resp.StatusCode != 200 {
			t.Fatalf("reading the account log: %d %v", resp.StatusCode, body)
		}
		types := strings.Join(apitest.AuditTypes(body), " ")
		for _, want := range []string{"email.change_requested", "email.change_confirmed"} {
			ev := apitest.FindAudit(body, want)
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
