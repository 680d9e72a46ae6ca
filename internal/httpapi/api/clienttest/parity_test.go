package clienttest_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// TestFlagListPaginationAndFilters checks PostHog's limit/offset pages and
// the flag list's search, active and type filters.
func TestFlagListPaginationAndFilters(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		base := fmt.Sprintf("/api/projects/%d/feature_flags/", ts.Project.ID)
		for i := 0; i < 5; i++ {
			apitest.CreateFlag(t, b, ts.Project.ID, fmt.Sprintf(`{"key":"flag-%d","name":"Flag %d","active":%v}`, i, i, i%2 == 0))
		}
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"Checkout-Colour","name":"colours","filters":{"groups":[{}],"multivariate":{"variants":[{"key":"a","rollout_percentage":50},{"key":"b","rollout_percentage":50}]}}}`)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"settings","is_remote_configuration":true,"filters":{"groups":[{}],"payloads":{"true":"{}"}}}`)

		page := func(path string) (count int, next, previous any, keys []string) {
			t.Helper()
			resp, out := b.Send("GET", path, "", false)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %v", path, resp.StatusCode, out)
			}
			for _, r := range out["results"].([]any) {
				keys = append(keys, r.(map[string]any)["key"].(string))
			}
			return int(out["count"].(float64)), out["next"], out["previous"], keys
		}
		count, next, prev, keys := page(base)
		if count != 7 || next != nil || prev != nil || len(keys) != 7 || keys[0] != "settings" || keys[6] != "flag-0" {
			t.Fatalf("default page: %d %v %v %v", count, next, prev, keys)
		}
		count, next, prev, keys = page(base + "?limit=2&offset=2")
		if count != 7 || strings.Join(keys, ",") != "flag-4,flag-3" {
			t.Fatalf("second page: %d %v", count, keys)
		}
		nu, _ := url.Parse(next.(string))
		pu, _ := url.Parse(prev.(string))
		if nu.Scheme != "https" || nu.Host != "gatehouse.example.com" || nu.Path != base || nu.Query().Get("limit") != "2" || nu.Query().Get("offset") != "4" {
			t.Fatalf("next %v", next)
		}
		// previous drops offset when it reaches 0.
		if pu.Query().Get("limit") != "2" || pu.Query().Has("offset") {
			t.Fatalf("previous %v", prev)
		}
		if _, next, _, keys = page(base + "?limit=2&offset=6"); next != nil || len(keys) != 1 {
			t.Fatalf("last page: %v %v", next, keys)
		}
		// A limit that is not a positive integer is the default; a bad offset is 0.
		for _, q := range []string{"?limit=0", "?limit=-3", "?limit=x", "?offset=x", "?offset=-1"} {
			if count, _, prev, keys := page(base + q); count != 7 || len(keys) != 7 || prev != nil {
				t.Errorf("%s: %d %v", q, count, keys)
			}
		}
		if _, _, _, keys = page(base + "?offset=50"); len(keys) != 0 {
			t.Fatalf("past the end: %v", keys)
		}

		for _, tc := range []struct{ query, want string }{
			{"?search=CHECKOUT", "Checkout-Colour"},
			{"?search=colours", "Checkout-Colour"},
			{"?search=flag%203", "flag-3"},
			{"?active=true&search=flag", "flag-4,flag-2,flag-0"},
			{"?active=false&search=flag", "flag-3,flag-1"},
			{"?active=STALE", ""},
			{"?type=multivariant", "Checkout-Colour"},
			{"?type=remote_config", "settings"},
			{"?type=experiment", ""},
			{"?type=boolean&limit=1", "flag-4"},
		} {
			if _, _, _, keys := page(base + tc.query); strings.Join(keys, ",") != tc.want {
				t.Errorf("%s: %v, want %s", tc.query, keys, tc.want)
			}
		}
	})
}

// TestFlagValidationAsPostHog checks the definitions PostHog refuses: a new
// flag with no condition set, and a number where an operator takes a
// string.
func TestFlagValidationAsPostHog(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		base := fmt.Sprintf("/api/projects/%d/feature_flags/", ts.Project.ID)
		for _, tc := range []struct{ body, code, detail string }{
			{`{"key":"a","filters":{"groups":[]}}`, "invalid_input", "Feature flags must have at least one condition set (group)."},
			{`{"key":"a","filters":{}}`, "invalid_input", "Feature flags must have at least one condition set (group)."},
			{`{"key":"a","filters":{"groups":[{"properties":[{"key":"age","operator":"gt","value":30,"type":"person"}]}]}}`, "invalid_value", "Invalid value for operator gt: 30"},
			{`{"key":"a","filters":{"groups":[{"properties":[{"key":"e","operator":"icontains","value":["x"],"type":"person"}]}]}}`, "invalid_value", `Invalid value for operator icontains: ["x"]`},
		} {
			resp, out := b.Send("POST", base, tc.body, true)
			if resp.StatusCode != 400 || out["code"] != tc.code || out["detail"] != tc.detail || out["attr"] != "filters" {
				t.Errorf("%s: %d %v", tc.body, resp.StatusCode, out)
			}
		}
		if resp, list := b.Send("GET", base, "", false); list["count"] != float64(0) {
			t.Fatalf("a refused flag was stored: %d %v", resp.StatusCode, list)
		}
		// Numbers written as strings are accepted, and an edit may clear the groups.
		f := apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"older","filters":{"groups":[{"properties":[{"key":"age","operator":"gte","value":"30","type":"person"}]}]}}`)
		if resp, out := b.Send("PATCH", fmt.Sprintf("%s%v/", base, f["id"]), `{"filters":{"groups":[]}}`, true); resp.StatusCode != 200 {
			t.Fatalf("clearing groups: %d %v", resp.StatusCode, out)
		}
	})
}

// TestFlagsV4TypedValues checks that /flags?v=4 carries each flag's typed
// value, which posthog-node 5.7x reads, while v=2 keeps the older records.
func TestFlagsV4TypedValues(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"on","filters":{"groups":[{"rollout_percentage":100}],"payloads":{"true":{"x":1}}}}`)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"off","active":false,"filters":{"groups":[{}]}}`)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"split","filters":{"groups":[{}],"multivariate":{"variants":[{"key":"only","rollout_percentage":100}]}}}`)
		body := fmt.Sprintf(`{"token":%q,"distinct_id":"p1"}`, ts.Project.APIToken)
		get := func(v string) map[string]map[string]any {
			resp, raw := ts.Do(t, "POST", "/flags/?v="+v+"&config=true", strings.NewReader(body), "Content-Type", "application/json")
			var out struct {
				Flags          map[string]map[string]any `json:"flags"`
				Token          string                    `json:"token"`
				SessionRecord  any                       `json:"sessionRecording"`
				HasFeatureFlag bool                      `json:"hasFeatureFlags"`
			}
			if resp.StatusCode != 200 || json.Unmarshal([]byte(raw), &out) != nil {
				t.Fatalf("v=%s: %d %s", v, resp.StatusCode, raw)
			}
			// config=true merges the remote-config document.
			if out.Token != ts.Project.APIToken || out.SessionRecord != false || !out.HasFeatureFlag {
				t.Fatalf("v=%s config=true: %s", v, raw)
			}
			return out.Flags
		}
		v4 := get("4")
		if v4["on"]["value"] != true || v4["split"]["value"] != "only" ||
			v4["on"]["enabled"] != true || v4["on"]["metadata"].(map[string]any)["payload"] != `{"x":1}` {
			t.Fatalf("v4: %v", v4)
		}
		if _, has := get("2")["on"]["value"]; has {
			t.Fatalf("v2 carries typed values")
		}
	})
}

// TestKeyEditsProfile checks that a personal API key with user:write may
// PATCH its user's profile, but never the email, the password or the
// second factor, and that user:read is not enough.
func TestKeyEditsProfile(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		writer, reader := apitest.MustKey(t, b, "user:write"), apitest.MustKey(t, b, "user:read")
		resp, out := apitest.KeyRequest(t, ts, "PATCH", "/api/users/@me/", writer, `{"first_name":"Ada","last_name":"Lovelace"}`)
		if resp.StatusCode != 200 || out["first_name"] != "Ada" || out["last_name"] != "Lovelace" {
			t.Fatalf("names with user:write: %d %v", resp.StatusCode, out)
		}
		resp, out = apitest.KeyRequest(t, ts, "PATCH", "/api/users/@me/", reader, `{"first_name":"Eve"}`)
		if resp.StatusCode != 403 || out["detail"] != "API key missing required scope 'user:write'" {
			t.Fatalf("user:read: %d %v", resp.StatusCode, out)
		}
		for _, body := range []string{
			`{"password":"a brand new passphrase 42","current_password":"` + apitest.OwnerPassword + `"}`,
			`{"email":"someone@example.com"}`,
			`{"first_name":"Eve","password":"x"}`,
		} {
			resp, out := apitest.KeyRequest(t, ts, "PATCH", "/api/users/@me/", writer, body)
			if resp.StatusCode != 403 || out["detail"] != "You can only change your email or password from the PostHog app, not with an API key or token." {
				t.Errorf("%s: %d %v", body, resp.StatusCode, out)
			}
		}
		if resp, out := apitest.KeyRequest(t, ts, "PATCH", "/api/users/@me/", writer, `{"passkeys_enabled_for_2fa":true}`); resp.StatusCode != 403 {
			t.Errorf("second factor by key: %d %v", resp.StatusCode, out)
		}
		// Nothing refused was applied; the owner still signs in with the old password.
		_, me := b.Send("GET", "/api/users/@me/", "", false)
		if me["first_name"] != "Ada" || me["email"] != "owner@example.com" {
			t.Fatalf("profile after refused edits: %v", me)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("password changed by a key: %d", resp.StatusCode)
		}
	})
}

// TestProjectSecretOnOtherRoutes checks the answers to a project secret
// where it cannot be used: 403 for a valid one (it did authenticate), 401
// with a Bearer challenge for an invalid one; and that an invalid personal
// key on local evaluation also advertises Bearer.
func TestProjectSecretOnOtherRoutes(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		for _, path := range []string{"/api/users/@me/", fmt.Sprintf("/api/projects/%d/feature_flags/", ts.Project.ID), "/api/organizations/@current/"} {
			resp, body := apitest.GetWith(t, ts, path, "Authorization", "Bearer "+ts.Secret.Reveal())
			if resp.StatusCode != 403 || !strings.Contains(body, "You do not have permission to perform this action.") {
				t.Errorf("valid secret on %s: %d %s", path, resp.StatusCode, body)
			}
			resp, body = apitest.GetWith(t, ts, path, "Authorization", "Bearer phs_"+strings.Repeat("Z", 48))
			if resp.StatusCode != 401 || strings.Contains(body, "were not provided") || resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("invalid secret on %s: %d %v %s", path, resp.StatusCode, resp.Header, body)
			}
		}
		resp, _ := apitest.GetWith(t, ts, "/api/feature_flag/local_evaluation?token="+ts.Project.APIToken, "Authorization", "Bearer phx_"+strings.Repeat("Z", 48))
		if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != "Bearer" {
			t.Fatalf("invalid personal key on local evaluation: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
}

// TestPostHogFieldsPresent checks that @me, projects, organizations and
// flags carry PostHog's fields, with empty values for features Gatehouse
// does not have.
func TestPostHogFieldsPresent(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		has := func(what string, obj map[string]any, fields ...string) {
			t.Helper()
			for _, f := range fields {
				if _, ok := obj[f]; !ok {
					t.Errorf("%s lacks %s: %v", what, f, obj)
				}
			}
		}
		_, me := b.Send("GET", "/api/users/@me/", "", false)
		has("@me", me, "id", "distinct_id", "pending_email", "has_social_auth", "has_sso_enforcement", "notification_settings",
			"is_impersonated", "is_impersonated_until", "scene_personalisation", "pending_invites")
		if me["id"] != float64(ts.User.ID) || me["distinct_id"] != ts.User.UUID || me["is_impersonated"] != false {
			t.Errorf("@me values: %v", me)
		}
		_, project := b.Send("GET", "/api/projects/@current/", "", false)
		has("project", project, "uuid", "timezone", "app_urls", "anonymize_ips", "project_id")
		_, again := b.Send("GET", fmt.Sprintf("/api/projects/%d/", ts.Project.ID), "", false)
		if u, _ := project["uuid"].(string); len(u) != 36 || again["uuid"] != u {
			t.Errorf("project uuid %v, then %v", project["uuid"], again["uuid"])
		}
		_, org := b.Send("GET", "/api/organizations/@current/", "", false)
		has("organization", org, "slug", "teams", "projects", "members_can_invite", "member_count")
		if org["member_count"] != float64(1) {
			t.Errorf("member_count %v", org["member_count"])
		}
		if teams, _ := org["teams"].([]any); len(teams) != 1 || teams[0].(map[string]any)["id"] != float64(ts.Project.ID) {
			t.Errorf("organization teams: %v", org["teams"])
		}
		if s, _ := org["slug"].(string); !strings.HasPrefix(s, "acme-") {
			t.Errorf("slug %v", org["slug"])
		}
		b.Send("PATCH", "/api/users/@me/", `{"first_name":"Ada"}`, true)
		f := apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"fields"}`)
		has("flag", f, "last_modified_by", "status", "can_edit", "evaluation_tags", "experiment_set", "surveys", "features")
		if cb := f["created_by"].(map[string]any); cb["first_name"] != "Ada" || cb["distinct_id"] != ts.User.UUID {
			t.Errorf("created_by %v", cb)
		}
	})
}
