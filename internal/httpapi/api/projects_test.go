package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestProjectsAPIAndSecretRotation(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		pid := fmt.Sprint(ts.Project.ID)

		resp, list := owner.Send("GET", "/api/projects/", "", false)
		results, _ := list["results"].([]any)
		if resp.StatusCode != 200 || len(results) != 1 || results[0].(map[string]any)["api_token"] != ts.Project.APIToken {
			t.Fatalf("list: %d %v", resp.StatusCode, list)
		}
		for _, path := range []string{"/api/projects/@current/", "/api/projects/" + pid + "/", "/api/environments/" + pid + "/"} {
			if resp, p := member.Send("GET", path, "", false); resp.StatusCode != 200 || p["api_token"] != ts.Project.APIToken || p["secret_api_token"] != nil {
				t.Fatalf("%s: %d %v", path, resp.StatusCode, p)
			}
		}
		for _, path := range []string{"/api/projects/999999/", "/api/projects/abc/"} {
			if resp, _ := owner.Send("GET", path, "", false); resp.StatusCode != 404 {
				t.Fatalf("%s: %d", path, resp.StatusCode)
			}
		}
		// Members may not rotate anything.
		for _, action := range []string{"reset_token", "rotate_secret_token", "delete_secret_token_backup"} {
			resp, out := member.Send("PATCH", "/api/projects/"+pid+"/"+action+"/", "", true)
			apitest.WantDenied(t, "member "+action, resp, out, 403, "You do not have admin access to this resource.")
		}
		resp, p := owner.Send("PATCH", "/api/projects/"+pid+"/reset_token/", "", true)
		if resp.StatusCode != 200 || p["api_token"] == ts.Project.APIToken || !strings.HasPrefix(p["api_token"].(string), "phc_") {
			t.Fatalf("reset_token: %d %v", resp.StatusCode, p)
		}
		if _, err := ts.Store.ProjectByAPIToken(t.Context(), ts.Project.APIToken); !store.IsNotFound(err) {
			t.Fatalf("old token still resolves: %v", err)
		}
		oldMask := gatehouse.MaskToken(ts.Secret)
		resp, p = owner.Send("PATCH", "/api/projects/"+pid+"/rotate_secret_token/", "", true)
		first, _ := p["secret_api_token"].(string)
		if resp.StatusCode != 200 || !gatehouse.HasTokenChecksum(first) || p["secret_api_token_backup_mask"] != oldMask {
			t.Fatalf("rotate: %d %v", resp.StatusCode, p)
		}
		stored, _ := ts.Store.ProjectByID(t.Context(), ts.Project.ID)
		if stored.SecretTokenHash != gatehouse.HashToken(gatehouse.Secret(first)) || stored.SecretTokenBackupHash != gatehouse.HashToken(ts.Secret) {
			t.Fatalf("after first rotation: %+v", stored)
		}
		_, p = owner.Send("PATCH", "/api/projects/"+pid+"/rotate_secret_token/", "", true)
		second := p["secret_api_token"].(string)
		stored, _ = ts.Store.ProjectByID(t.Context(), ts.Project.ID)
		if stored.SecretTokenHash != gatehouse.HashToken(gatehouse.Secret(second)) || stored.SecretTokenBackupHash != gatehouse.HashToken(gatehouse.Secret(first)) {
			t.Fatalf("after second rotation: the oldest secret must be gone: %+v", stored)
		}
		resp, p = owner.Send("PATCH", "/api/projects/"+pid+"/delete_secret_token_backup/", "", true)
		if resp.StatusCode != 200 || p["secret_api_token_backup_mask"] != nil || p["secret_api_token"] != nil {
			t.Fatalf("delete backup: %d %v", resp.StatusCode, p)
		}
		stored, _ = ts.Store.ProjectByID(t.Context(), ts.Project.ID)
		if stored.SecretTokenBackupHash != "" {
			t.Fatal("backup kept")
		}
	})
}

func TestProjectSecretAPIKeys(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		base := fmt.Sprintf("/api/projects/%d/project_secret_api_keys/", ts.Project.ID)

		resp, k := owner.Send("POST", base, `{"label":"sdk","scopes":["feature_flag:read"]}`, true)
		value, _ := k["value"].(string)
		if resp.StatusCode != 201 || !strings.HasPrefix(value, "phs_") || !gatehouse.HasTokenChecksum(value) || k["mask_value"] != gatehouse.MaskToken(gatehouse.Secret(value)) {
			t.Fatalf("create: %d %v", resp.StatusCode, k)
		}
		id := k["id"].(string)
		for _, c := range []struct{ body, detail string }{
			{`{"label":"sdk","scopes":["feature_flag:read"]}`, "A secret key with this label already exists in this project."},
			{`{"label":"x","scopes":["*"]}`, "Invalid scope: *"},
			{`{"label":"x","scopes":["user:read"]}`, "Invalid scope: user:read"},
			{`{"label":"x","scopes":[]}`, "At least one scope is required."},
			{`{"label":"","scopes":["endpoint:read"]}`, "This field may not be blank."},
		} {
			resp, out := owner.Send("POST", base, c.body, true)
			apitest.WantDenied(t, c.body, resp, out, 400, c.detail)
		}
		resp, out := member.Send("POST", base, `{"label":"m","scopes":["endpoint:read"]}`, true)
		apitest.WantDenied(t, "member create", resp, out, 403, "You do not have admin access to this resource.")
		code, list := member.List(base)
		if code != 200 || len(list) != 1 || list[0]["value"] != nil || list[0]["id"] != id {
			t.Fatalf("member list: %d %v", code, list)
		}
		resp, out = owner.Send("PATCH", base+id+"/", `{"label":"renamed","scopes":["endpoint:read","feature_flag:read"]}`, true)
		if resp.StatusCode != 200 || out["label"] != "renamed" || len(out["scopes"].([]any)) != 2 {
			t.Fatalf("update: %d %v", resp.StatusCode, out)
		}
		resp, rolled := owner.Send("POST", base+id+"/roll/", "", true)
		if resp.StatusCode != 200 || rolled["value"] == value || rolled["last_rolled_at"] == nil {
			t.Fatalf("roll: %d %v", resp.StatusCode, rolled)
		}
		stored, err := ts.Store.ProjectSecretAPIKeyByHash(t.Context(), gatehouse.HashToken(gatehouse.Secret(rolled["value"].(string))))
		if err != nil || stored.ID != id {
			t.Fatalf("rolled key not stored: %v", err)
		}
		if _, err := ts.Store.ProjectSecretAPIKeyByHash(t.Context(), gatehouse.HashToken(gatehouse.Secret(value))); !store.IsNotFound(err) {
			t.Fatalf("old value still stored: %v", err)
		}
		for i := 1; i < 10; i++ {
			if resp, out := owner.Send("POST", base, fmt.Sprintf(`{"label":"k%d","scopes":["endpoint:read"]}`, i), true); resp.StatusCode != 201 {
				t.Fatalf("key %d: %d %v", i, resp.StatusCode, out)
			}
		}
		resp, out = owner.Send("POST", base, `{"label":"eleventh","scopes":["endpoint:read"]}`, true)
		apitest.WantDenied(t, "11th", resp, out, 400, "You can only have 10 secret keys per project. Remove an existing key before creating a new one.")
		if resp, _ := owner.Send("DELETE", base+id+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		if resp, _ := owner.Send("GET", base+id+"/", "", false); resp.StatusCode != 404 {
			t.Fatalf("deleted key: %d", resp.StatusCode)
		}
	})
}
