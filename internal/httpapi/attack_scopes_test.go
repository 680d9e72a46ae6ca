package httpapi_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestAttackKeyScopes: a personal API key does only what its scopes allow:
// a key without the resource's scope, a :read key trying a write, a key
// scoped to one project (scoped_teams) or organization reaching another
// of its user's projects, and a key on an action keys may not do are all
// refused, and nothing changes.
func TestAttackKeyScopes(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		a := apitest.NewAttackTarget(t, engine, apitest.Options{})
		ts := a.Ts
		// A second organization whose project the owner can also reach.
		other, otherProject := apitest.Outsider(t, ts)
		_, me := other.Send("GET", "/api/users/@me/", "", false)
		otherOrg := me["organization"].(map[string]any)["id"].(string)
		ts.ExecSQL(t, `INSERT INTO memberships (organization_id, user_id, level, created_at) VALUES (?, ?, ?, ?)`, otherOrg, ts.User.ID, 15, time.Now().UTC())
		otherFlag := apitest.CreateFlag(t, other, otherProject.ID, `{"key":"other-flag","name":"Other","filters":{"groups":[{"rollout_percentage":100}]}}`)
		P, Q := fmt.Sprint(a.ProjectID), fmt.Sprint(otherProject.ID)
		flagsP := "/api/projects/" + P + "/feature_flags/"
		flagsQ := "/api/projects/" + Q + "/feature_flags/"
		flagQ := flagsQ + fmt.Sprint(int64(otherFlag["id"].(float64))) + "/"
		n := 0
		key := func(body map[string]any) string {
			n++
			body["label"] = fmt.Sprint("attack key ", n)
			return apitest.CreateKey(t, a.Owner, body)["value"].(string)
		}
		userRead := key(map[string]any{"scopes": []string{"user:read"}})
		flagRead := key(map[string]any{"scopes": []string{"feature_flag:read"}})
		projectRead := key(map[string]any{"scopes": []string{"project:read", "organization:read"}})
		teamKey := key(map[string]any{"scopes": []string{"*"}, "scoped_teams": []int64{a.ProjectID}})
		orgKey := key(map[string]any{"scopes": []string{"*"}, "scoped_organizations": []string{a.OrgID}})
		// The controls: the keys work where they should.
		for _, c := range []struct{ key, path string }{{flagRead, flagsP}, {teamKey, flagsP}, {orgKey, flagsP}, {a.OwnerKey, flagQ}, {projectRead, "/api/projects/" + P + "/"}} {
			if resp, body := apitest.KeyRequest(t, ts, "GET", c.path, c.key, ""); resp.StatusCode != 200 {
				t.Fatalf("control GET %s: %d %v", c.path, resp.StatusCode, body)
			}
		}
		for _, tc := range []struct {
			name, key string
			r         apitest.AttackRequest
		}{
			{"no feature_flag scope: list", userRead, apitest.AttackRequest{Method: "GET", Path: flagsP, Body: ""}},
			{"no feature_flag scope: create", userRead, apitest.AttackRequest{Method: "POST", Path: flagsP, Body: `{"key":"planted","filters":{"groups":[{"rollout_percentage":100}]}}`}},
			{"no feature_flag scope: read one", userRead, apitest.AttackRequest{Method: "GET", Path: flagsP + a.FlagID + "/", Body: ""}},
			{"read key creates", flagRead, apitest.AttackRequest{Method: "POST", Path: flagsP, Body: `{"key":"planted","filters":{"groups":[{"rollout_percentage":100}]}}`}},
			{"read key updates", flagRead, apitest.AttackRequest{Method: "PATCH", Path: flagsP + a.FlagID + "/", Body: `{"name":"taken"}`}},
			{"read key deletes", flagRead, apitest.AttackRequest{Method: "DELETE", Path: flagsP + a.FlagID + "/", Body: ""}},
			{"project:read resets the token", projectRead, apitest.AttackRequest{Method: "PATCH", Path: "/api/projects/" + P + "/reset_token/", Body: "{}"}},
			{"project:read rotates the secret", projectRead, apitest.AttackRequest{Method: "PATCH", Path: "/api/projects/" + P + "/rotate_secret_token/", Body: "{}"}},
			{"organization:read renames", projectRead, apitest.AttackRequest{Method: "PATCH", Path: "/api/organizations/" + a.OrgID + "/", Body: `{"name":"Taken"}`}},
			{"no user scope: @me", projectRead, apitest.AttackRequest{Method: "GET", Path: "/api/users/@me/", Body: ""}},
			{"scoped_teams: another project's flags", teamKey, apitest.AttackRequest{Method: "GET", Path: flagsQ, Body: ""}},
			{"scoped_teams: another project's flag update", teamKey, apitest.AttackRequest{Method: "PATCH", Path: flagQ, Body: `{"name":"taken"}`}},
			{"scoped_teams: another project's flag delete", teamKey, apitest.AttackRequest{Method: "DELETE", Path: flagQ, Body: ""}},
			{"scoped_teams: another project", teamKey, apitest.AttackRequest{Method: "GET", Path: "/api/projects/" + Q + "/", Body: ""}},
			{"scoped_teams: organization route", teamKey, apitest.AttackRequest{Method: "GET", Path: "/api/organizations/" + a.OrgID + "/", Body: ""}},
			{"scoped_organizations: another organization's project flags", orgKey, apitest.AttackRequest{Method: "GET", Path: flagsQ, Body: ""}},
			{"scoped_organizations: another organization's flag update", orgKey, apitest.AttackRequest{Method: "PATCH", Path: flagQ, Body: `{"name":"taken"}`}},
			{"scoped_organizations: another organization", orgKey, apitest.AttackRequest{Method: "GET", Path: "/api/organizations/" + otherOrg + "/", Body: ""}},
			{"a key makes keys", a.OwnerKey, apitest.AttackRequest{Method: "POST", Path: "/api/personal_api_keys/", Body: `{"label":"planted","scopes":["*"]}`}},
			{"a key rolls a key", a.OwnerKey, apitest.AttackRequest{Method: "POST", Path: "/api/personal_api_keys/" + a.OwnerKeyID + "/roll/", Body: ""}},
			{"a key deletes a key", a.OwnerKey, apitest.AttackRequest{Method: "DELETE", Path: "/api/personal_api_keys/" + a.OwnerKeyID + "/", Body: ""}},
			{"a key revokes sessions", a.OwnerKey, apitest.AttackRequest{Method: "DELETE", Path: "/api/users/@me/login_sessions/" + a.OwnerSessionID + "/", Body: ""}},
			{"a key deletes a passkey", a.OwnerKey, apitest.AttackRequest{Method: "DELETE", Path: "/api/webauthn/credentials/" + a.PasskeyID + "/", Body: ""}},
			{"a key turns 2FA off", a.OwnerKey, apitest.AttackRequest{Method: "POST", Path: "/api/users/@me/two_factor_disable/", Body: ""}},
		} {
			resp, body := apitest.KeyRequest(t, ts, tc.r.Method, tc.r.Path, tc.key, tc.r.Body)
			apitest.WantRefused(t, tc.name, resp, body, 403)
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
