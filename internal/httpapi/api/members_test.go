package api_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestMembersListShape(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		apitest.JoinByInvite(t, ts, owner, "admin@example.com", 8)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)

		resp, body := member.Send("GET", "/api/organizations/"+ts.Project.OrganizationID+"/members/?limit=2", "", false)
		results, _ := body["results"].([]any)
		if resp.StatusCode != 200 || body["count"] != float64(3) || len(results) != 2 || body["next"] == nil || body["previous"] != nil {
			t.Fatalf("first page: %d %v", resp.StatusCode, body)
		}
		first := results[0].(map[string]any)
		user := first["user"].(map[string]any)
		// Newest first: the member joined last.
		if user["email"] != "member@example.com" || first["level"] != float64(1) || first["joined_at"] == nil || first["updated_at"] == nil ||
			first["is_2fa_enabled"] != false || first["has_social_auth"] != false || first["last_login"] == nil || first["id"] == "" || user["is_email_verified"] != false {
			t.Fatalf("member item: %v", first)
		}
		_, body = member.Send("GET", "/api/organizations/@current/members/?limit=2&offset=2", "", false)
		if results, _ := body["results"].([]any); len(results) != 1 || body["next"] != nil || body["previous"] == nil {
			t.Fatalf("second page: %v", body)
		}
		// No retrieve: 405 for a member, the permission error for others.
		uuids := apitest.MemberUUIDs(t, owner)
		if resp, _ := member.Send("GET", "/api/organizations/@current/members/"+uuids["owner@example.com"]+"/", "", false); resp.StatusCode != 405 {
			t.Fatalf("retrieve: %d", resp.StatusCode)
		}
		stranger, _ := apitest.Outsider(t, ts)
		resp, body = stranger.Send("GET", "/api/organizations/"+ts.Project.OrganizationID+"/members/", "", false)
		apitest.WantDenied(t, "outsider list", resp, body, 403, "You do not have permission to perform this action.")
		// A user of another organization is not found in one's own.
		if code, body := apitest.SetLevel(stranger, uuids["member@example.com"], 1); code != 404 {
			t.Fatalf("outsider patch in own org: %d %v", code, body)
		}
		resp, body = stranger.Send("PATCH", "/api/organizations/"+ts.Project.OrganizationID+"/members/"+uuids["member@example.com"]+"/", `{"level":8}`, true)
		apitest.WantDenied(t, "outsider patch", resp, body, 403, "You do not have permission to perform this action.")
	})
}

// Who may change whom: members change nobody, admins cannot make owners
// nor touch owners, nobody changes their own level, and an invalid level
// changes nothing.
func TestMemberLevelRules(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		admin := apitest.JoinByInvite(t, ts, owner, "admin@example.com", 8)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		ids := apitest.MemberUUIDs(t, owner)
		o, a, m := ids["owner@example.com"], ids["admin@example.com"], ids["member@example.com"]

		for _, c := range []struct {
			name   string
			who    *apitest.Browser
			target string
			level  int
			status int
			detail string
		}{
			{"member raises self", member, m, 8, 403, "You can't change your own access level."},
			{"member demotes admin", member, a, 1, 403, "You can only edit others if you are an admin."},
			{"admin makes an owner", admin, m, 15, 403, "You can only make another member owner if you're this organization's owner."},
			{"admin demotes the owner", admin, o, 1, 403, "You can only edit others with level lower or equal to you."},
			{"owner changes own level", owner, o, 8, 403, "You can't change your own access level."},
			{"bad level", owner, m, 3, 400, `"3" is not a valid choice.`},
		} {
			resp, body := c.who.Send("PATCH", "/api/organizations/@current/members/"+c.target+"/", fmt.Sprintf(`{"level":%d}`, c.level), true)
			apitest.WantDenied(t, c.name, resp, body, c.status, c.detail)
		}
		if got := memberLevels(t, ts); got["admin@example.com"] != 8 || got["member@example.com"] != 1 || got["owner@example.com"] != 15 {
			t.Fatalf("levels changed by refused requests: %v", got)
		}
		if code, body := apitest.SetLevel(admin, m, 8); code != 200 || body["level"] != float64(8) {
			t.Fatalf("admin promotes member to admin: %d %v", code, body)
		}
		if code, body := apitest.SetLevel(owner, a, 15); code != 200 || body["level"] != float64(15) {
			t.Fatalf("owner makes an owner: %d %v", code, body)
		}
		// Owners may demote owners; the last one can never be demoted.
		if code, body := apitest.SetLevel(admin, o, 8); code != 200 {
			t.Fatalf("owner demotes the other owner: %d %v", code, body)
		}
		if code, body := apitest.SetLevel(owner, a, 1); code != 403 {
			t.Fatalf("now-admin demotes the owner: %d %v", code, body)
		}
		if got := memberLevels(t, ts); got["admin@example.com"] != 15 || got["owner@example.com"] != 8 {
			t.Fatalf("levels: %v", got)
		}
	})
}

// memberLevels reads every membership level of the test organization
// from the store, by email.
func memberLevels(t *testing.T, ts *apitest.Server) map[string]int {
	t.Helper()
	list, _, err := ts.Store.OrganizationMembers(t.Context(), ts.Project.OrganizationID, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, m := range list {
		out[m.User.Email] = int(m.Level)
	}
	return out
}

// The store refuses to take an organization's last owner below owner
// (what two owners demoting each other at once would otherwise do), and
// to remove an owner.
func TestLastOwnerKeptByTheStore(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		org := ts.Project.OrganizationID
		if err := ts.Store.SetMembershipLevel(t.Context(), org, ts.User.ID, gatehouse.LevelAdmin, ts.User.CreatedAt); !errors.Is(err, gatehouse.ErrLastOwner) {
			t.Fatalf("demoting the last owner: %v", err)
		}
		if err := ts.Store.RemoveMembership(t.Context(), org, ts.User.ID); !errors.Is(err, gatehouse.ErrLastOwner) {
			t.Fatalf("removing the owner: %v", err)
		}
		if got := memberLevels(t, ts); got["owner@example.com"] != 15 {
			t.Fatalf("owner changed: %v", got)
		}
	})
}

// An owner can be neither removed nor leave; a member may leave; an admin
// removes members but not those above them.
func TestMemberRemovalRules(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		admin := apitest.JoinByInvite(t, ts, owner, "admin@example.com", 8)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		leaver := apitest.JoinByInvite(t, ts, owner, "leaver@example.com", 1)
		ids := apitest.MemberUUIDs(t, owner)

		resp, body := owner.Send("DELETE", "/api/organizations/@current/members/@me/", "", true)
		apitest.WantDenied(t, "owner leaves", resp, body, 400, "Cannot leave the organization as its owner!")
		resp, body = admin.Send("DELETE", "/api/organizations/@current/members/"+ids["owner@example.com"]+"/", "", true)
		apitest.WantDenied(t, "admin removes owner", resp, body, 403, "You can only edit others with level lower or equal to you.")
		resp, body = member.Send("DELETE", "/api/organizations/@current/members/"+ids["admin@example.com"]+"/", "", true)
		apitest.WantDenied(t, "member removes admin", resp, body, 403, "You can only edit others if you are an admin.")
		if resp, body := leaver.Send("DELETE", "/api/organizations/@current/members/@me/", "", true); resp.StatusCode != 204 {
			t.Fatalf("member leaves: %d %v", resp.StatusCode, body)
		}
		if resp, body := admin.Send("DELETE", "/api/organizations/@current/members/"+ids["member@example.com"]+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("admin removes member: %d %v", resp.StatusCode, body)
		}
		if got := memberLevels(t, ts); len(got) != 2 {
			t.Fatalf("after removals: %v", got)
		}
		// The one who left has no current organization any more.
		_, me := leaver.Send("GET", "/api/users/@me/", "", false)
		if me["organization"] != nil || me["team"] != nil {
			t.Fatalf("leaver still has a current organization: %v", me)
		}
	})
}

// The user's organizations, an organization's projects, and switching
// the current organization and project.
func TestOrganizationsListAndSwitching(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)
		orgB, projectB := apitest.SecondOrganization(t, ts, engine)
		accounts := &gatehouse.AccountService{Store: ts.Store, HashPassword: password.TestCost.Hash, CheckPassword: password.CheckStrength, Passwords: password.NewHasher(0, 0).WithCost(password.TestCost)}
		third, err := accounts.CreateOrganizationWithOwner(t.Context(), gatehouse.NewOwner{
			Email: "third@example.org", Password: "another horse battery staple", OrganizationName: "Third"})
		if err != nil {
			t.Fatal(err)
		}
		strangerProject := third.Project

		resp, body := owner.Send("GET", "/api/organizations/", "", false)
		if resp.StatusCode != 200 || body["count"] != float64(2) {
			t.Fatalf("organizations: %d %v", resp.StatusCode, body)
		}
		scoped := apitest.CreateKey(t, owner, map[string]any{"label": "b", "scopes": []string{"organization:read"}, "scoped_organizations": []string{orgB}})["value"].(string)
		resp, body = apitest.KeyRequest(t, ts, "GET", "/api/organizations/", scoped, "")
		if results, _ := body["results"].([]any); resp.StatusCode != 200 || body["count"] != float64(1) || results[0].(map[string]any)["id"] != orgB {
			t.Fatalf("organizations with a key scoped to B: %d %v", resp.StatusCode, body)
		}
		resp, body = owner.Send("GET", "/api/organizations/"+orgB+"/projects/", "", false)
		if results, _ := body["results"].([]any); resp.StatusCode != 200 || len(results) != 1 || results[0].(map[string]any)["id"] != float64(projectB.ID) {
			t.Fatalf("projects of B: %d %v", resp.StatusCode, body)
		}
		if resp, _ := owner.Send("GET", "/api/organizations/"+strangerProject.OrganizationID+"/projects/", "", false); resp.StatusCode != 404 {
			t.Fatalf("projects of a foreign organization: %d", resp.StatusCode)
		}

		resp, body = owner.Send("PATCH", "/api/users/@me/", `{"set_current_organization":"`+orgB+`"}`, true)
		if resp.StatusCode != 200 || body["organization"].(map[string]any)["id"] != orgB || body["team"].(map[string]any)["id"] != float64(projectB.ID) {
			t.Fatalf("switch to B: %d %v", resp.StatusCode, body)
		}
		resp, body = owner.Send("PATCH", "/api/users/@me/", fmt.Sprintf(`{"set_current_team":%d}`, ts.Project.ID), true)
		if resp.StatusCode != 200 || body["organization"].(map[string]any)["id"] != ts.Project.OrganizationID {
			t.Fatalf("switch by team: %d %v", resp.StatusCode, body)
		}
		for _, c := range []struct{ body, attr, detail string }{
			{`{"set_current_organization":"` + strangerProject.OrganizationID + `"}`, "set_current_organization", "Object with id=" + strangerProject.OrganizationID + " does not exist."},
			{`{"set_current_organization":"nope"}`, "set_current_organization", "Object with id=nope does not exist."},
			{fmt.Sprintf(`{"set_current_team":%d}`, strangerProject.ID), "set_current_team", fmt.Sprintf("Object with id=%d does not exist.", strangerProject.ID)},
			{fmt.Sprintf(`{"set_current_organization":"%s","set_current_team":%d}`, orgB, ts.Project.ID), "set_current_team", "Team must belong to the same organization in set_current_organization."},
		} {
			resp, body := owner.Send("PATCH", "/api/users/@me/", c.body, true)
			if resp.StatusCode != 400 || body["attr"] != c.attr || body["detail"] != c.detail {
				t.Fatalf("%s: %d %v", c.body, resp.StatusCode, body)
			}
		}
		u, _ := ts.Store.UserByUUID(t.Context(), ts.User.UUID)
		if u.CurrentOrganizationID != ts.Project.OrganizationID || u.CurrentProjectID != ts.Project.ID {
			t.Fatalf("refused switches moved the user: %+v", u)
		}
	})
}

// On a first run (no account yet) the home page sends a visitor to
// signup; afterwards to login.
func TestFirstRunHomeGoesToSignup(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{Empty: true})
		b := apitest.NewBrowser(t, ts)
		if resp, _ := b.Page("GET", "/", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/signup" {
			t.Fatalf("first run: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp, body := b.Send("POST", "/api/signup/", apitest.SignupBody("grace@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
			t.Fatalf("signup: %d %v", resp.StatusCode, body)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("after the first account: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}
