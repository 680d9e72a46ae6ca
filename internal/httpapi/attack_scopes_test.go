package httpapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestAttackKeyScopes: a personal API key does only what its scopes allow:
// a key without the resource's scope, a :read key trying a write, a key
// scoped to one project (scoped_teams) or organization reaching another
// of its user's projects, and a key on an action keys may not do are all
// refused, and nothing changes.
func TestAttackKeyScopes(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		a := NewAttackTarget(t, engine, Options{})
		ts := a.Ts
		// A second organization whose project the owner can also reach.
		other, otherProject := Outsider(t, ts)
		_, me := other.Send("GET", "/api/users/@me/", "", false)
		otherOrg := me["organization"].(map[string]any)["id"].(string)
		if _, err := ts.Store.DB().Exec(Rebind(engine, `INSERT INTO memberships (organization_id, user_id, level, created_at) VALUES (?, ?, ?, ?)`),
			otherOrg, ts.User.ID, 15, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		otherFlag := CreateFlag(t, other, otherProject.ID, `{"key":"other-flag","name":"Other","filters":{"groups":[{"rollout_percentage":100}]}}`)
		P, Q := fmt.Sprint(a.ProjectID), fmt.Sprint(otherProject.ID)
		flagsP := "/api/projects/" + P + "/feature_flags/"
		flagsQ := "/api/projects/" + Q + "/feature_flags/"
		flagQ := flagsQ + fmt.Sprint(int64(otherFlag["id"].(float64))) + "/"
		n := 0
		key := func(body map[string]any) string {
			n++
			body["label"] = fmt.Sprint("attack key ", n)
			return CreateKey(t, a.Owner, body)["value"].(string)
		}
		userRead := key(map[string]any{"scopes": []string{"user:read"}})
		flagRead := key(map[string]any{"scopes": []string{"feature_flag:read"}})
		projectRead := key(map[string]any{"scopes": []string{"project:read", "organization:read"}})
		teamKey := key(map[string]any{"scopes": []string{"*"}, "scoped_teams": []int64{a.ProjectID}})
		orgKey := key(map[string]any{"scopes": []string{"*"}, "scoped_organizations": []string{a.OrgID}})
		// The controls: the keys work where they should.
		for _, c := range []struct{ key, path string }{{flagRead, flagsP}, {teamKey, flagsP}, {orgKey, flagsP}, {a.OwnerKey, flagQ}, {projectRead, "/api/projects/" + P + "/"}} {
			if resp, body := KeyRequest(t, ts, "GET", c.path, c.key, ""); resp.StatusCode != 200 {
				t.Fatalf("control GET %s: %d %v", c.path, resp.StatusCode, body)
			}
		}
		for _, tc := range []struct {
			name, key string
			r         AttackRequest
		}{
			{"no feature_flag scope: list", userRead, AttackRequest{"GET", flagsP, ""}},
			{"no feature_flag scope: create", userRead, AttackRequest{"POST", flagsP, `{"key":"planted","filters":{"groups":[{"rollout_percentage":100}]}}`}},
			{"no feature_flag scope: read one", userRead, AttackRequest{"GET", flagsP + a.FlagID + "/", ""}},
			{"read key creates", flagRead, AttackRequest{"POST", flagsP, `{"key":"planted","filters":{"groups":[{"rollout_percentage":100}]}}`}},
			{"read key updates", flagRead, AttackRequest{"PATCH", flagsP + a.FlagID + "/", `{"name":"taken"}`}},
			{"read key deletes", flagRead, AttackRequest{"DELETE", flagsP + a.FlagID + "/", ""}},
			{"project:read resets the token", projectRead, AttackRequest{"PATCH", "/api/projects/" + P + "/reset_token/", "{}"}},
			{"project:read rotates the secret", projectRead, AttackRequest{"PATCH", "/api/projects/" + P + "/rotate_secret_token/", "{}"}},
			{"organization:read renames", projectRead, AttackRequest{"PATCH", "/api/organizations/" + a.OrgID + "/", `{"name":"Taken"}`}},
			{"no user scope: @me", projectRead, AttackRequest{"GET", "/api/users/@me/", ""}},
			{"scoped_teams: another project's flags", teamKey, AttackRequest{"GET", flagsQ, ""}},
			{"scoped_teams: another project's flag update", teamKey, AttackRequest{"PATCH", flagQ, `{"name":"taken"}`}},
			{"scoped_teams: another project's flag delete", teamKey, AttackRequest{"DELETE", flagQ, ""}},
			{"scoped_teams: another project", teamKey, AttackRequest{"GET", "/api/projects/" + Q + "/", ""}},
			{"scoped_teams: organization route", teamKey, AttackRequest{"GET", "/api/organizations/" + a.OrgID + "/", ""}},
			{"scoped_organizations: another organization's project flags", orgKey, AttackRequest{"GET", flagsQ, ""}},
			{"scoped_organizations: another organization's flag update", orgKey, AttackRequest{"PATCH", flagQ, `{"name":"taken"}`}},
			{"scoped_organizations: another organization", orgKey, AttackRequest{"GET", "/api/organizations/" + otherOrg + "/", ""}},
			{"a key makes keys", a.OwnerKey, AttackRequest{"POST", "/api/personal_api_keys/", `{"label":"planted","scopes":["*"]}`}},
			{"a key rolls a key", a.OwnerKey, AttackRequest{"POST", "/api/personal_api_keys/" + a.OwnerKeyID + "/roll/", ""}},
			{"a key deletes a key", a.OwnerKey, AttackRequest{"DELETE", "/api/personal_api_keys/" + a.OwnerKeyID + "/", ""}},
			{"a key revokes sessions", a.OwnerKey, AttackRequest{"DELETE", "/api/users/@me/login_sessions/" + a.OwnerSessionID + "/", ""}},
			{"a key deletes a passkey", a.OwnerKey, AttackRequest{"DELETE", "/api/webauthn/credentials/" + a.PasskeyID + "/", ""}},
			{"a key turns 2FA off", a.OwnerKey, AttackRequest{"POST", "/api/users/@me/two_factor_disable/", ""}},
		} {
			resp, body := KeyRequest(t, ts, tc.r.Method, tc.r.Path, tc.key, tc.r.Body)
			WantRefused(t, tc.name, resp, body, 403)
			if body["code"] != "permission_denied" {
				t.Errorf("%s: code %v", tc.name, body["code"])
			}
		}
		if resp, f := other.Send("GET", flagQ, "", false); resp.StatusCode != 200 || f["name"] != "Other" || f["deleted"] != false {
			t.Errorf("the other organization's flag: %d %v", resp.StatusCode, f)
		}
		a.WantUnchanged(t)
	})
}
