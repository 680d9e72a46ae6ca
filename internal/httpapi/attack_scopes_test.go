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
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		a := newAttackTarget(t, engine, serverOptions{})
		ts := a.ts
		// A second organization whose project the owner can also reach.
		other, otherProject := outsider(t, ts)
		_, me := other.send("GET", "/api/users/@me/", "", false)
		otherOrg := me["organization"].(map[string]any)["id"].(string)
		if _, err := ts.store.DB().Exec(rebind(engine, `INSERT INTO memberships (organization_id, user_id, level, created_at) VALUES (?, ?, ?, ?)`),
			otherOrg, ts.user.ID, 15, time.Now().UTC()); err != nil {
			t.Fatal(err)
		}
		otherFlag := createFlag(t, other, otherProject.ID, `{"key":"other-flag","name":"Other","filters":{"groups":[{"rollout_percentage":100}]}}`)
		P, Q := fmt.Sprint(a.projectID), fmt.Sprint(otherProject.ID)
		flagsP := "/api/projects/" + P + "/feature_flags/"
		flagsQ := "/api/projects/" + Q + "/feature_flags/"
		flagQ := flagsQ + fmt.Sprint(int64(otherFlag["id"].(float64))) + "/"
		n := 0
		key := func(body map[string]any) string {
			n++
			body["label"] = fmt.Sprint("attack key ", n)
			return createKey(t, a.owner, body)["value"].(string)
		}
		userRead := key(map[string]any{"scopes": []string{"user:read"}})
		flagRead := key(map[string]any{"scopes": []string{"feature_flag:read"}})
		projectRead := key(map[string]any{"scopes": []string{"project:read", "organization:read"}})
		teamKey := key(map[string]any{"scopes": []string{"*"}, "scoped_teams": []int64{a.projectID}})
		orgKey := key(map[string]any{"scopes": []string{"*"}, "scoped_organizations": []string{a.orgID}})
		// The controls: the keys work where they should.
		for _, c := range []struct{ key, path string }{{flagRead, flagsP}, {teamKey, flagsP}, {orgKey, flagsP}, {a.ownerKey, flagQ}, {projectRead, "/api/projects/" + P + "/"}} {
			if resp, body := keyRequest(t, ts, "GET", c.path, c.key, ""); resp.StatusCode != 200 {
				t.Fatalf("control GET %s: %d %v", c.path, resp.StatusCode, body)
			}
		}
		for _, tc := range []struct {
			name, key string
			r         attackRequest
		}{
			{"no feature_flag scope: list", userRead, attackRequest{"GET", flagsP, ""}},
			{"no feature_flag scope: create", userRead, attackRequest{"POST", flagsP, `{"key":"planted","filters":{"groups":[{"rollout_percentage":100}]}}`}},
			{"no feature_flag scope: read one", userRead, attackRequest{"GET", flagsP + a.flagID + "/", ""}},
			{"read key creates", flagRead, attackRequest{"POST", flagsP, `{"key":"planted","filters":{"groups":[{"rollout_percentage":100}]}}`}},
			{"read key updates", flagRead, attackRequest{"PATCH", flagsP + a.flagID + "/", `{"name":"taken"}`}},
			{"read key deletes", flagRead, attackRequest{"DELETE", flagsP + a.flagID + "/", ""}},
			{"project:read resets the token", projectRead, attackRequest{"PATCH", "/api/projects/" + P + "/reset_token/", "{}"}},
			{"project:read rotates the secret", projectRead, attackRequest{"PATCH", "/api/projects/" + P + "/rotate_secret_token/", "{}"}},
			{"organization:read renames", projectRead, attackRequest{"PATCH", "/api/organizations/" + a.orgID + "/", `{"name":"Taken"}`}},
			{"no user scope: @me", projectRead, attackRequest{"GET", "/api/users/@me/", ""}},
			{"scoped_teams: another project's flags", teamKey, attackRequest{"GET", flagsQ, ""}},
			{"scoped_teams: another project's flag update", teamKey, attackRequest{"PATCH", flagQ, `{"name":"taken"}`}},
			{"scoped_teams: another project's flag delete", teamKey, attackRequest{"DELETE", flagQ, ""}},
			{"scoped_teams: another project", teamKey, attackRequest{"GET", "/api/projects/" + Q + "/", ""}},
			{"scoped_teams: organization route", teamKey, attackRequest{"GET", "/api/organizations/" + a.orgID + "/", ""}},
			{"scoped_organizations: another organization's project flags", orgKey, attackRequest{"GET", flagsQ, ""}},
			{"scoped_organizations: another organization's flag update", orgKey, attackRequest{"PATCH", flagQ, `{"name":"taken"}`}},
			{"scoped_organizations: another organization", orgKey, attackRequest{"GET", "/api/organizations/" + otherOrg + "/", ""}},
			{"a key makes keys", a.ownerKey, attackRequest{"POST", "/api/personal_api_keys/", `{"label":"planted","scopes":["*"]}`}},
			{"a key rolls a key", a.ownerKey, attackRequest{"POST", "/api/personal_api_keys/" + a.ownerKeyID + "/roll/", ""}},
			{"a key deletes a key", a.ownerKey, attackRequest{"DELETE", "/api/personal_api_keys/" + a.ownerKeyID + "/", ""}},
			{"a key revokes sessions", a.ownerKey, attackRequest{"DELETE", "/api/users/@me/login_sessions/" + a.ownerSessionID + "/", ""}},
			{"a key deletes a passkey", a.ownerKey, attackRequest{"DELETE", "/api/webauthn/credentials/" + a.passkeyID + "/", ""}},
			{"a key turns 2FA off", a.ownerKey, attackRequest{"POST", "/api/users/@me/two_factor_disable/", ""}},
		} {
			resp, body := keyRequest(t, ts, tc.r.method, tc.r.path, tc.key, tc.r.body)
			wantRefused(t, tc.name, resp, body, 403)
			if body["code"] != "permission_denied" {
				t.Errorf("%s: code %v", tc.name, body["code"])
			}
		}
		if resp, f := other.send("GET", flagQ, "", false); resp.StatusCode != 200 || f["name"] != "Other" || f["deleted"] != false {
			t.Errorf("the other organization's flag: %d %v", resp.StatusCode, f)
		}
		a.wantUnchanged(t)
	})
}
