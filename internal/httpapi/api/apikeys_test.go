package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

const notSupported = "This action does not support Personal API Key access"

func TestPersonalAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		created := apitest.CreateKey(t, b, map[string]any{"label": " CI deploy ", "scopes": []string{"user:read"}})
		key, _ := created["value"].(string)
		if !strings.HasPrefix(key, "phx_") || gatehouse.CheckTokenChecksum(key) != nil || !gatehouse.HasTokenChecksum(key) {
			t.Fatalf("created key %q", key)
		}
		if created["label"] != "CI deploy" || created["mask_value"] != key[:4]+"..."+key[len(key)-4:] || created["last_used_at"] != nil {
			t.Fatalf("created: %v", created)
		}
		code, list := b.List("/api/personal_api_keys/")
		if code != 200 || len(list) != 1 || list[0]["value"] != nil || list[0]["id"] != created["id"] {
			t.Fatalf("list: %d %v", code, list)
		}
		id := created["id"].(string)

		resp, me := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, "")
		if resp.StatusCode != 200 || me["email"] != "owner@example.com" || resp.Header.Get("Set-Cookie") != "" {
			t.Fatalf("@me with key: %d %v %v", resp.StatusCode, me, resp.Header)
		}
		resp, self := apitest.KeyRequest(t, ts, "GET", "/api/personal_api_keys/@current/", key, "")
		if resp.StatusCode != 200 || self["id"] != id || self["last_used_at"] == nil || self["value"] != nil {
			t.Fatalf("@current: %d %v", resp.StatusCode, self)
		}
		if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/personal_api_keys/"+id+"/", key, ""); resp.StatusCode != 200 || body["id"] != id {
			t.Fatalf("own id with key: %d %v", resp.StatusCode, body)
		}
		// A key can do nothing else with key management, nor with the
		// session-only account routes (PATCH /api/users/@me takes
		// user:write keys for the profile, never for the password:
		// TestKeyEditsProfile).
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/personal_api_keys/", ""},
			{"POST", "/api/personal_api_keys/", `{"label":"x","scopes":["*"]}`},
			{"POST", "/api/personal_api_keys/" + id + "/roll/", ""},
			{"DELETE", "/api/personal_api_keys/" + id + "/", ""},
			{"PATCH", "/api/personal_api_keys/" + id + "/", `{"scopes":["*"]}`},
			{"GET", "/api/users/@me/login_sessions/", ""},
			{"POST", "/api/logout/", ""},
		} {
			resp, body := apitest.KeyRequest(t, ts, c.method, c.path, key, c.body)
			apitest.WantDenied(t, c.method+" "+c.path, resp, body, 403, notSupported)
		}
		if resp, body := b.Send("GET", "/api/personal_api_keys/@current/", "", false); resp.StatusCode != 404 {
			t.Fatalf("@current with a session: %d %v", resp.StatusCode, body)
		}

		// Update, then roll: the old secret stops at once.
		resp, upd := b.Send("PATCH", "/api/personal_api_keys/"+id+"/", `{"label":"renamed","scopes":["user:read","project:read"]}`, true)
		if resp.StatusCode != 200 || upd["label"] != "renamed" || len(upd["scopes"].([]any)) != 2 {
			t.Fatalf("update: %d %v", resp.StatusCode, upd)
		}
		resp, rolled := b.Send("POST", "/api/personal_api_keys/"+id+"/roll/", "", true)
		newKey, _ := rolled["value"].(string)
		if resp.StatusCode != 200 || newKey == "" || newKey == key || rolled["last_rolled_at"] == nil || rolled["mask_value"] == created["mask_value"] {
			t.Fatalf("roll: %d %v", resp.StatusCode, rolled)
		}
		resp, body := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, "")
		apitest.WantDenied(t, "old key after roll", resp, body, 401, "Personal API key found in request Authorization header is invalid.")
		if body["type"] != "authentication_error" {
			t.Fatalf("type: %v", body)
		}
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", newKey, ""); resp.StatusCode != 200 {
			t.Fatalf("rolled key: %d", resp.StatusCode)
		}
		if resp, _ := b.Send("DELETE", "/api/personal_api_keys/"+id+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("delete: %d", resp.StatusCode)
		}
		resp, body = apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", newKey, "")
		apitest.WantDenied(t, "deleted key", resp, body, 401, "Personal API key found in request Authorization header is invalid.")
		if resp, _ := b.Send("DELETE", "/api/personal_api_keys/"+id+"/", "", true); resp.StatusCode != 404 {
			t.Fatalf("second delete: %d", resp.StatusCode)
		}
	})
}

func TestPersonalAPIKeyValidationAndLimit(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		for _, c := range []struct {
			body   string
			detail string
		}{
			{`{"label":"x","scopes":["user:read","user:delete"]}`, "Invalid scope: user:delete"},
			{`{"label":"x","scopes":["nothing:read"]}`, "Invalid scope: nothing:read"},
			{`{"label":"x"}`, "This field is required."},
			{`{"scopes":["*"]}`, "This field is required."},
			{`{"label":"` + strings.Repeat("a", 41) + `","scopes":["*"]}`, "Ensure this field has no more than 40 characters."},
			{`{"label":"x","scopes":["*"],"scoped_organizations":["not-a-uuid"]}`, "Invalid organization UUID"},
			{`{"label":"x","scopes":["*"],"scoped_organizations":["0190a1b2-0000-7000-8000-000000000000"]}`, "You must be a member of all organizations that you are scoping the key to."},
			{`{"label":"x","scopes":["*"],"scoped_teams":[999999]}`, "You must be a member of all teams that you are scoping the key to."},
		} {
			resp, body := b.Send("POST", "/api/personal_api_keys/", c.body, true)
			if resp.StatusCode != 400 || body["detail"] != c.detail {
				t.Fatalf("%s: %d %v", c.body, resp.StatusCode, body)
			}
		}
		// Ten keys, concurrently requested, and not one more. A request
		// the database could not serve in time (503, a lock wait on a
		// loaded machine) is asked again until it gets an answer.
		var wg sync.WaitGroup
		codes := make(chan int, 12)
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := fmt.Sprintf(`{"label":"k%d","scopes":["*"]}`, i)
				resp, _ := b.Send("POST", "/api/personal_api_keys/", body, true)
				for try := 0; resp.StatusCode == 503 && try < 10; try++ {
					resp, _ = b.Send("POST", "/api/personal_api_keys/", body, true)
				}
				codes <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		created, refused := 0, 0
		for c := range codes {
			switch c {
			case 201:
				created++
			case 400:
				refused++
			default:
				t.Errorf("a concurrent create answered %d", c)
			}
		}
		if created != 10 || refused != 2 {
			t.Fatalf("%d keys created and %d refused, want 10 and 2", created, refused)
		}
		resp, body := b.Send("POST", "/api/personal_api_keys/", `{"label":"eleventh","scopes":["*"]}`, true)
		if resp.StatusCode != 400 || body["detail"] != "You can only have 10 personal API keys. Remove an existing key before creating a new one." {
			t.Fatalf("11th key: %d %v", resp.StatusCode, body)
		}
	})
}

func TestPersonalAPIKeyTransports(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		key := apitest.MustKey(t, b)
		do := func(method, path, body string, header ...string) (*http.Response, map[string]any) {
			req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
			for i := 0; i+1 < len(header); i += 2 {
				req.Header.Set(header[i], header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			json.NewDecoder(resp.Body).Decode(&out)
			return resp, out
		}
		// Body: a JSON write with no cookie and no CSRF token.
		resp, body := do("PATCH", "/api/organizations/@current/", `{"personal_api_key":"`+key+`","name":"Acme Renamed"}`, "Content-Type", "application/json")
		if resp.StatusCode != 200 || body["name"] != "Acme Renamed" {
			t.Fatalf("body transport: %d %v", resp.StatusCode, body)
		}
		// Form body.
		resp, body = do("PATCH", "/api/organizations/@current/", "personal_api_key="+url.QueryEscape(key), "Content-Type", "application/x-www-form-urlencoded")
		if resp.StatusCode == 401 || resp.StatusCode == 403 {
			t.Fatalf("form transport: %d %v", resp.StatusCode, body)
		}
		// Query string, counted on the key.
		for i := 0; i < 2; i++ {
			if resp, body := do("GET", "/api/users/@me/?personal_api_key="+url.QueryEscape(key), ""); resp.StatusCode != 200 || body["email"] != "owner@example.com" {
				t.Fatalf("query transport: %d %v", resp.StatusCode, body)
			}
		}
		_, list := b.List("/api/personal_api_keys/")
		if len(list) != 1 || list[0]["query_string_use_count"] != float64(2) {
			t.Fatalf("query uses: %v", list)
		}
		// Invalid keys name where they were found.
		bad := "phx_" + strings.Repeat("a", 48) + "222222"
		for _, c := range []struct {
			method, path, body, where string
			header                    []string
		}{
			{"GET", "/api/users/@me/", "", "Authorization header", []string{"Authorization", "Bearer " + bad}},
			{"PATCH", "/api/organizations/@current/", `{"personal_api_key":"` + bad + `"}`, "body", []string{"Content-Type", "application/json"}},
			{"GET", "/api/users/@me/?personal_api_key=" + bad, "", "query string", nil},
			{"GET", "/api/users/@me/", "", "Authorization header", []string{"Authorization", "Bearer phx_unknownlegacykey"}},
		} {
			resp, body := do(c.method, c.path, c.body, c.header...)
			apitest.WantDenied(t, c.where, resp, body, 401, "Personal API key found in request "+c.where+" is invalid.")
		}
		// Only the first place found counts: a bad header is not rescued
		// by a good query parameter.
		resp, body = do("GET", "/api/users/@me/?personal_api_key="+url.QueryEscape(key), "", "Authorization", "Bearer "+bad)
		apitest.WantDenied(t, "header first", resp, body, 401, "Personal API key found in request Authorization header is invalid.")
		// "Bearer" is case-sensitive: anything else is no key at all.
		if resp, body := do("GET", "/api/users/@me/", "", "Authorization", "bearer "+key); resp.StatusCode != 401 || body["code"] != "not_authenticated" {
			t.Fatalf("lower-case bearer: %d %v", resp.StatusCode, body)
		}
		// A key request carrying a session cookie is still the key's.
		if resp, _ := b.Send("GET", "/api/users/@me/", "", false, "Authorization", "Bearer "+bad); resp.StatusCode != 401 {
			t.Fatalf("bad key with a session: %d", resp.StatusCode)
		}
		if strings.Contains(ts.Logs.String(), key[4:]) {
			t.Fatal("a key reached the logs")
		}
	})
}

func TestPersonalAPIKeyScopesOverHTTP(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		userRead := apitest.MustKey(t, b, "user:read")
		projectRead := apitest.MustKey(t, b, "project:read", "organization:write")
		pid := fmt.Sprint(ts.Project.ID)

		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", userRead, ""); resp.StatusCode != 200 {
			t.Fatalf("user:read on @me: %d", resp.StatusCode)
		}
		resp, body := apitest.KeyRequest(t, ts, "GET", "/api/organizations/@current/", userRead, "")
		apitest.WantDenied(t, "org read", resp, body, 403, "API key missing required scope 'organization:read'")
		resp, body = apitest.KeyRequest(t, ts, "GET", "/api/projects/", userRead, "")
		apitest.WantDenied(t, "projects", resp, body, 403, "API key missing required scope 'project:read'")

		if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/projects/"+pid+"/", projectRead, ""); resp.StatusCode != 200 || body["api_token"] != ts.Project.APIToken {
			t.Fatalf("project:read: %d %v", resp.StatusCode, body)
		}
		resp, body = apitest.KeyRequest(t, ts, "PATCH", "/api/projects/"+pid+"/reset_token/", projectRead, "")
		apitest.WantDenied(t, "reset_token", resp, body, 403, "API key missing required scope 'project:write'")
		// organization:write implies organization:read.
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/organizations/@current/", projectRead, ""); resp.StatusCode != 200 {
			t.Fatalf("write implies read: %d", resp.StatusCode)
		}
		resp, body = apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", projectRead, "")
		apitest.WantDenied(t, "@me", resp, body, 403, "API key missing required scope 'user:read'")

		// Scoped to the project: project routes only.
		teamKey := apitest.CreateKey(t, b, map[string]any{"label": "team", "scopes": []string{"*"}, "scoped_teams": []int64{ts.Project.ID}})["value"].(string)
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/projects/@current/", teamKey, ""); resp.StatusCode != 200 {
			t.Fatalf("scoped team on its project: %d", resp.StatusCode)
		}
		resp, body = apitest.KeyRequest(t, ts, "GET", "/api/projects/"+fmt.Sprint(ts.Project.ID+1000)+"/", teamKey, "")
		apitest.WantDenied(t, "other project", resp, body, 403, fmt.Sprintf("API key does not have access to the requested project: ID %d.", ts.Project.ID+1000))
		resp, body = apitest.KeyRequest(t, ts, "GET", "/api/organizations/@current/", teamKey, "")
		apitest.WantDenied(t, "org route", resp, body, 403, "API keys with scoped projects are only supported on project-based endpoints.")
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", teamKey, ""); resp.StatusCode != 200 {
			t.Fatalf("user views skip scoping: %d", resp.StatusCode)
		}

		// Scoped to the organization; a second organization is refused.
		orgID := ts.User.CurrentOrganizationID
		orgKey := apitest.CreateKey(t, b, map[string]any{"label": "org", "scopes": []string{"*"}, "scoped_organizations": []string{orgID}})
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/organizations/"+orgID+"/", orgKey["value"].(string), ""); resp.StatusCode != 200 {
			t.Fatalf("scoped org: %d", resp.StatusCode)
		}
		other := &gatehouse.Organization{ID: gatehouse.NewUUID(), Name: "Other", MembersCanUsePersonalAPIKeys: true}
		ts.ExecSQL(t, `INSERT INTO organizations (id, name, enforce_2fa, members_can_use_personal_api_keys, created_at) VALUES (?, ?, ?, ?, ?)`, other.ID, other.Name, false, true, time.Now().UTC())
		ts.ExecSQL(t, `INSERT INTO memberships (organization_id, user_id, level, created_at) VALUES (?, ?, ?, ?)`, other.ID, ts.User.ID, 15, time.Now().UTC())
		resp, body = apitest.KeyRequest(t, ts, "GET", "/api/organizations/"+other.ID+"/", orgKey["value"].(string), "")
		apitest.WantDenied(t, "other org", resp, body, 403, "API key does not have access to the requested organization: ID "+other.ID+".")
		// An organization the user is not in stays a 404.
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/organizations/"+gatehouse.NewUUID()+"/", userRead, ""); resp.StatusCode != 403 {
			t.Fatalf("unknown org with missing scope: %d", resp.StatusCode)
		}
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/organizations/"+gatehouse.NewUUID()+"/", teamKey, ""); resp.StatusCode != 403 {
			t.Fatalf("unknown org with team key: %d", resp.StatusCode)
		}
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/organizations/"+gatehouse.NewUUID()+"/", orgKey["value"].(string), ""); resp.StatusCode != 404 {
			t.Fatalf("unknown org: %d", resp.StatusCode)
		}
	})
}

func TestOrganizationKeySwitchAndAdminSettings(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		memberKey := apitest.MustKey(t, member)
		ownerKey := apitest.MustKey(t, owner)

		resp, org := apitest.KeyRequest(t, ts, "GET", "/api/organizations/@current/", memberKey, "")
		if resp.StatusCode != 200 || org["members_can_use_personal_api_keys"] != true || org["membership_level"] != float64(1) {
			t.Fatalf("member reads org: %d %v", resp.StatusCode, org)
		}
		// Members cannot change anything, by session or key.
		for _, body := range []string{`{"members_can_use_personal_api_keys":false}`, `{"enforce_2fa":true}`, `{"session_cookie_age":3600}`, `{"name":"Mine"}`} {
			resp, out := member.Send("PATCH", "/api/organizations/@current/", body, true)
			apitest.WantDenied(t, "member PATCH "+body, resp, out, 403, "You do not have admin access to this resource.")
			resp, out = apitest.KeyRequest(t, ts, "PATCH", "/api/organizations/@current/", memberKey, body)
			apitest.WantDenied(t, "member key PATCH "+body, resp, out, 403, "You do not have admin access to this resource.")
		}
		for _, body := range []string{`{"session_cookie_age":5}`, `{"session_cookie_age":"soon"}`, `{"name":""}`} {
			if resp, out := owner.Send("PATCH", "/api/organizations/@current/", body, true); resp.StatusCode != 400 {
				t.Fatalf("owner PATCH %s: %d %v", body, resp.StatusCode, out)
			}
		}
		resp, org = owner.Send("PATCH", "/api/organizations/@current/", `{"members_can_use_personal_api_keys":false,"enforce_2fa":true,"session_cookie_age":86400}`, true)
		if resp.StatusCode != 200 || org["members_can_use_personal_api_keys"] != false || org["enforce_2fa"] != true || org["session_cookie_age"] != float64(86400) {
			t.Fatalf("owner PATCH: %d %v", resp.StatusCode, org)
		}
		// The very next key request of the member is refused; the owner's
		// is not; user views are not organization views.
		resp, out := apitest.KeyRequest(t, ts, "GET", "/api/organizations/@current/", memberKey, "")
		apitest.WantDenied(t, "member key after switch", resp, out, 403,
			"Organization 'Acme' does not allow using personal API keys. Contact an admin to enable personal API keys for this organization.")
		resp, out = apitest.KeyRequest(t, ts, "GET", "/api/projects/@current/", memberKey, "")
		apitest.WantDenied(t, "member key on project", resp, out, 403,
			"Organization 'Acme' does not allow using personal API keys. Contact an admin to enable personal API keys for this organization.")
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/organizations/@current/", ownerKey, ""); resp.StatusCode != 200 {
			t.Fatalf("owner key after switch: %d", resp.StatusCode)
		}
		// An admin without 2FA cannot change an organization that enforces
		// it, by session or by key; with enforcement lifted (here in the
		// database) the key may.
		resp, out = apitest.KeyRequest(t, ts, "PATCH", "/api/organizations/@current/", ownerKey, `{"enforce_2fa":false}`)
		if resp.StatusCode != 403 || out["code"] != "two_factor_setup_required" {
			t.Fatalf("owner without 2FA lifting enforcement: %d %v", resp.StatusCode, out)
		}
		ts.ExecSQL(t, `UPDATE organizations SET enforce_2fa = FALSE`)
		if resp, out := apitest.KeyRequest(t, ts, "PATCH", "/api/organizations/@current/", ownerKey, `{"members_can_use_personal_api_keys":true,"enforce_2fa":false,"session_cookie_age":null}`); resp.StatusCode != 200 {
			t.Fatalf("switch back: %d %v", resp.StatusCode, out)
		}
		if resp, out := apitest.KeyRequest(t, ts, "GET", "/api/organizations/@current/", memberKey, ""); resp.StatusCode != 200 || out["session_cookie_age"] != nil {
			t.Fatalf("member key after switching back: %d %v", resp.StatusCode, out)
		}
		if resp, _ := owner.Send("GET", "/api/organizations/"+gatehouse.NewUUID()+"/", "", false); resp.StatusCode != 404 {
			t.Fatalf("foreign org: %d", resp.StatusCode)
		}
	})
}

func TestPersonalAPIKeyExpiresAfterAYearUnused(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		created := apitest.CreateKey(t, b, map[string]any{"label": "old", "scopes": []string{"*"}})
		id, key := created["id"].(string), created["value"].(string)
		now := time.Now().UTC()
		const expired = "Personal API key has expired because it was not used for 365 days. Create a new key."
		for _, c := range []struct {
			created, used time.Time
			ok            bool
		}{
			{now.AddDate(0, 0, -364), time.Time{}, true},
			{now.AddDate(0, 0, -366), time.Time{}, false},
			{now.AddDate(-3, 0, 0), now.AddDate(0, 0, -366), false},
			{now.AddDate(-3, 0, 0), now.AddDate(0, 0, -300), true},
		} {
			if err := ts.Store.SetPersonalAPIKeyTimes(context.Background(), id, c.created, c.used); err != nil {
				t.Fatal(err)
			}
			resp, body := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, "")
			if c.ok && resp.StatusCode != 200 {
				t.Fatalf("created %v used %v: %d %v", c.created, c.used, resp.StatusCode, body)
			}
			if !c.ok {
				apitest.WantDenied(t, "expired key", resp, body, 401, expired)
			}
		}
	})
}

func TestPersonalAPIKeyLastUsedWrittenHourly(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		created := apitest.CreateKey(t, b, map[string]any{"label": "k", "scopes": []string{"*"}})
		id, key := created["id"].(string), created["value"].(string)
		recent := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Second)
		stale := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
		lastUsed := func() time.Time {
			k, err := ts.Store.PersonalAPIKeyByID(context.Background(), ts.User.ID, id)
			if err != nil {
				t.Fatal(err)
			}
			return k.LastUsedAt
		}
		ts.Store.SetPersonalAPIKeyTimes(context.Background(), id, recent, recent)
		apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, "")
		if got := lastUsed(); !got.Equal(recent) {
			t.Fatalf("recent last_used_at rewritten: %v, want %v", got, recent)
		}
		ts.Store.SetPersonalAPIKeyTimes(context.Background(), id, stale, stale)
		apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, "")
		if got := lastUsed(); !got.After(recent) {
			t.Fatalf("stale last_used_at kept: %v", got)
		}
	})
}

func TestLegacyPBKDF2KeyUpgradedOnUse(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs PBKDF2 at PostHog's legacy iteration counts on purpose")
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		// One key at each of PostHog's iteration counts, in their order.
		for i, lk := range []apitest.LegacyKey{apitest.LegacyUpgradeKey260k, apitest.LegacyUpgradeKey390k} {
			if lk.Iterations != gatehouse.LegacyKeyIterations[i] {
				t.Fatalf("test key at %d iterations, Gatehouse tries %d", lk.Iterations, gatehouse.LegacyKeyIterations[i])
			}
			legacy, iterations := lk.Value, lk.Iterations
			k := &gatehouse.PersonalAPIKey{ID: gatehouse.RandomToken(20), UserID: ts.User.ID, Label: "legacy", MaskValue: gatehouse.MaskToken(legacy),
				SecureValue: lk.Hash, CreatedAt: time.Now().UTC()}
			if err := ts.Store.CreatePersonalAPIKey(context.Background(), k, 10); err != nil {
				t.Fatal(err)
			}
			if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", legacy.Reveal(), ""); resp.StatusCode != 200 {
				t.Fatalf("legacy %d key: %d %v", iterations, resp.StatusCode, body)
			}
			got, err := ts.Store.PersonalAPIKeyByID(context.Background(), ts.User.ID, k.ID)
			if err != nil || got.SecureValue != gatehouse.HashToken(legacy) {
				t.Fatalf("not upgraded: %v %v", got, err)
			}
			if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", legacy.Reveal(), ""); resp.StatusCode != 200 {
				t.Fatalf("upgraded key: %d", resp.StatusCode)
			}
		}
	})
}

func TestConcurrentRollsLeaveOneSecret(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		created := apitest.CreateKey(t, b, map[string]any{"label": "k", "scopes": []string{"*"}})
		id := created["id"].(string)
		values := make(chan string, 8)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if resp, out := b.Send("POST", "/api/personal_api_keys/"+id+"/roll/", "", true); resp.StatusCode == 200 {
					values <- out["value"].(string)
				}
			}()
		}
		wg.Wait()
		close(values)
		valid, total := 0, 0
		all := []string{created["value"].(string)}
		for v := range values {
			all = append(all, v)
		}
		for _, v := range all {
			total++
			if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", v, ""); resp.StatusCode == 200 {
				valid++
			}
		}
		if total < 2 || valid != 1 {
			t.Fatalf("%d of %d secrets valid after concurrent rolls, want exactly 1", valid, total)
		}
	})
}

// TestNoPlaintextSecretAtRest makes keys and secrets in every way and
// then searches the whole database (and the SQLite files) for them.
func TestNoPlaintextSecretAtRest(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		opts := storetest.Shared(t, engine)
		ts := apitest.NewServer(t, engine, apitest.Options{StoreOpts: &opts})
		b := apitest.OwnerBrowser(t, ts)
		pid := fmt.Sprint(ts.Project.ID)
		var secrets []string
		created := apitest.CreateKey(t, b, map[string]any{"label": "a", "scopes": []string{"*"}})
		secrets = append(secrets, created["value"].(string), apitest.MustKey(t, b, "user:read"))
		_, rolled := b.Send("POST", "/api/personal_api_keys/"+created["id"].(string)+"/roll/", "", true)
		secrets = append(secrets, rolled["value"].(string))
		_, proj := b.Send("PATCH", "/api/projects/"+pid+"/rotate_secret_token/", "", true)
		secrets = append(secrets, proj["secret_api_token"].(string), ts.Secret.Reveal())
		_, pk := b.Send("POST", "/api/projects/"+pid+"/project_secret_api_keys/", `{"label":"sdk","scopes":["feature_flag:read"]}`, true)
		secrets = append(secrets, pk["value"].(string))
		_, pkRolled := b.Send("POST", "/api/projects/"+pid+"/project_secret_api_keys/"+pk["id"].(string)+"/roll/", "", true)
		secrets = append(secrets, pkRolled["value"].(string))
		apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", rolled["value"].(string), "")
		for _, s := range secrets {
			if len(s) < 40 {
				t.Fatalf("missing secret in %v", secrets)
			}
		}
		dump := apitest.DumpDatabase(t, ts.Store.DB())
		if engine == store.SQLite {
			ts.Store.Close() // checkpoint the WAL into the file
			files, _ := filepath.Glob(filepath.Join(opts.DataDir, "*"))
			for _, f := range files {
				data, _ := os.ReadFile(f)
				dump = append(dump, data...)
			}
		}
		for _, s := range secrets {
			// The random part alone, so no encoding of the prefix hides it.
			if bytes.Contains(dump, []byte(s[4:30])) {
				t.Fatalf("plaintext of %s... found at rest", s[:8])
			}
		}
		if !bytes.Contains(dump, []byte(gatehouse.HashToken(gatehouse.Secret(rolled["value"].(string))))) {
			t.Fatal("the scan did not see the key table")
		}
		for _, s := range secrets {
			if strings.Contains(ts.Logs.String(), s[4:30]) {
				t.Fatal("a secret reached the logs")
			}
		}
	})
}

// A key-authenticated GET /api/users/@me is served from the answer encoded
// under the current auth generation; every change to what it shows must
// appear on the very next request: names, 2FA, the organization's
// settings, and the key's own revocation.
func TestKeyMeAnswerFollowsEveryChange(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		key := apitest.MustKey(t, b, "user:read")
		me := func() map[string]any {
			t.Helper()
			resp, body := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, "")
			if resp.StatusCode != 200 {
				t.Fatalf("@me: %d %v", resp.StatusCode, body)
			}
			return body
		}
		first := me()
		if again := me(); fmt.Sprint(again) != fmt.Sprint(first) {
			t.Fatalf("two reads with nothing changed differ:\n%v\n%v", first, again)
		}

		if resp, body := b.Send("PATCH", "/api/users/@me/", `{"first_name":"Grace"}`, true); resp.StatusCode != 200 {
			t.Fatalf("rename: %d %v", resp.StatusCode, body)
		}
		if got := me()["first_name"]; got != "Grace" {
			t.Fatalf("after a rename the key sees first_name %v", got)
		}

		apitest.EnableTOTP(t, b, time.Now())
		if got := me()["is_2fa_enabled"]; got != true {
			t.Fatalf("after enabling TOTP the key sees is_2fa_enabled %v", got)
		}

		if resp, body := b.Send("PATCH", "/api/organizations/@current/", `{"session_cookie_age":7200}`, true); resp.StatusCode != 200 {
			t.Fatalf("organization change: %d %v", resp.StatusCode, body)
		}
		if org, _ := me()["organization"].(map[string]any); org["session_cookie_age"] != float64(7200) {
			t.Fatalf("after the organization change the key sees %v", org)
		}

		for _, k := range keyIDs(t, b) {
			if resp, _ := b.Send("DELETE", "/api/personal_api_keys/"+k+"/", "", true); resp.StatusCode != 204 {
				t.Fatalf("deleting key %s: %d", k, resp.StatusCode)
			}
		}
		if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, ""); resp.StatusCode != 401 {
			t.Fatalf("a deleted key still reads @me: %d %v", resp.StatusCode, body)
		}
	})
}

// keyIDs is the ids of b's personal API keys.
func keyIDs(t *testing.T, b *apitest.Browser) []string {
	t.Helper()
	code, items := b.List("/api/personal_api_keys/")
	if code != 200 {
		t.Fatalf("listing keys: %d", code)
	}
	var ids []string
	for _, it := range items {
		ids = append(ids, it["id"].(string))
	}
	return ids
}
