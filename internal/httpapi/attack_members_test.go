package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// A removed member's session and their key scoped to the organization
// stop reaching it on the very next request, though both were just used
// (and the key's answers cached).
func TestAttackRemovedMemberLosesAccessAtOnce(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 8)
		org := ts.Project.OrganizationID
		pid := fmt.Sprint(ts.Project.ID)
		key := apitest.CreateKey(t, member, map[string]any{"label": "org", "scopes": []string{"*"}, "scoped_organizations": []string{org}})["value"].(string)
		paths := []string{"/api/organizations/" + org + "/", "/api/organizations/" + org + "/members/", "/api/projects/" + pid + "/", "/api/organizations/" + org + "/projects/"}
		for _, p := range paths {
			if resp, body := apitest.KeyRequest(t, ts, "GET", p, key, ""); resp.StatusCode != 200 {
				t.Fatalf("key before removal %s: %d %v", p, resp.StatusCode, body)
			}
			if resp, body := member.Send("GET", p, "", false); resp.StatusCode != 200 {
				t.Fatalf("session before removal %s: %d %v", p, resp.StatusCode, body)
			}
		}
		ids := apitest.MemberUUIDs(t, owner)
		if resp, body := owner.Send("DELETE", "/api/organizations/@current/members/"+ids["member@example.com"]+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("removing: %d %v", resp.StatusCode, body)
		}
		for _, p := range paths {
			if resp, body := apitest.KeyRequest(t, ts, "GET", p, key, ""); resp.StatusCode != 403 && resp.StatusCode != 404 {
				t.Fatalf("key after removal %s: %d %v", p, resp.StatusCode, body)
			}
			if resp, body := member.Send("GET", p, "", false); resp.StatusCode != 403 && resp.StatusCode != 404 {
				t.Fatalf("session after removal %s: %d %v", p, resp.StatusCode, body)
			}
		}
		resp, body := member.Send("PATCH", "/api/organizations/"+org+"/", `{"name":"Taken"}`, true)
		if resp.StatusCode != 404 {
			t.Fatalf("removed admin renames the organization: %d %v", resp.StatusCode, body)
		}
	})
}

// Demoting an admin takes their admin rights away on the next request,
// for their session and their key alike.
func TestAttackDemotedAdminLosesAdminAtOnce(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		admin := apitest.JoinByInvite(t, ts, owner, "admin@example.com", 8)
		key := apitest.MustKey(t, admin)
		if resp, body := apitest.KeyRequest(t, ts, "PATCH", "/api/organizations/@current/", key, `{"name":"Acme 2"}`); resp.StatusCode != 200 {
			t.Fatalf("admin key renames: %d %v", resp.StatusCode, body)
		}
		ids := apitest.MemberUUIDs(t, owner)
		if code, body := apitest.SetLevel(owner, ids["admin@example.com"], 1); code != 200 {
			t.Fatalf("demoting: %d %v", code, body)
		}
		if resp, body := apitest.KeyRequest(t, ts, "PATCH", "/api/organizations/@current/", key, `{"name":"Acme 3"}`); resp.StatusCode != 403 {
			t.Fatalf("demoted admin's key renames: %d %v", resp.StatusCode, body)
		}
		if resp, body := admin.Send("PATCH", "/api/organizations/@current/", `{"name":"Acme 4"}`, true); resp.StatusCode != 403 {
			t.Fatalf("demoted admin's session renames: %d %v", resp.StatusCode, body)
		}
	})
}
