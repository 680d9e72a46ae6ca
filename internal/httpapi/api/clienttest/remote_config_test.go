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

func TestRemoteConfigPayload(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		remote := apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"site-config","is_remote_configuration":true,"filters":{"groups":[{"properties":[],"rollout_percentage":100}],"payloads":{"true":{"a":1}}}}`)
		if remote["is_remote_configuration"] != true {
			t.Fatalf("created %v", remote)
		}
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"ordinary","filters":{"groups":[{"properties":[],"rollout_percentage":100}],"payloads":{"true":{"b":2}}}}`)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"empty-config","is_remote_configuration":true,"filters":{"groups":[{"properties":[],"rollout_percentage":100}]}}`)
		secret := "Bearer " + ts.Secret.Reveal()
		readKey := apitest.MustKey(t, b, "feature_flag:read")
		otherKey := apitest.MustKey(t, b, "user:read")
		tok := url.QueryEscape(ts.Project.APIToken)
		_, otherProject := apitest.Outsider(t, ts)

		for _, tc := range []struct {
			name   string
			path   string
			header []string
			status int
			body   string
		}{
			// posthog-node's call: @current, the project token, a secret.
			{"secret by key", "/api/projects/@current/feature_flags/site-config/remote_config?token=" + tok, []string{"Authorization", secret}, 200, `"{\"a\":1}"`},
			{"secret by id, slash", fmt.Sprintf("/api/projects/%d/feature_flags/%v/remote_config/", ts.Project.ID, remote["id"]), []string{"Authorization", secret}, 200, `"{\"a\":1}"`},
			{"environments alias", fmt.Sprintf("/api/environments/%d/feature_flags/site-config/remote_config", ts.Project.ID), []string{"Authorization", secret}, 200, `"{\"a\":1}"`},
			{"personal key", "/api/projects/@current/feature_flags/site-config/remote_config?token=" + tok, []string{"Authorization", "Bearer " + readKey}, 200, `"{\"a\":1}"`},
			{"no payload", "/api/projects/@current/feature_flags/empty-config/remote_config", []string{"Authorization", secret}, 200, `null`},
			{"not remote configuration", "/api/projects/@current/feature_flags/ordinary/remote_config", []string{"Authorization", secret}, 404, ``},
			{"unknown flag", "/api/projects/@current/feature_flags/nope/remote_config", []string{"Authorization", secret}, 404, ``},
			{"no credentials", "/api/projects/@current/feature_flags/site-config/remote_config?token=" + tok, nil, 401, ""},
			{"key without feature_flag:read", "/api/projects/@current/feature_flags/site-config/remote_config?token=" + tok, []string{"Authorization", "Bearer " + otherKey}, 403, ""},
			{"secret for another project", fmt.Sprintf("/api/projects/%d/feature_flags/site-config/remote_config", otherProject.ID), []string{"Authorization", secret}, 403, ""},
			{"secret with another project's token", "/api/projects/@current/feature_flags/site-config/remote_config?token=" + url.QueryEscape(otherProject.APIToken), []string{"Authorization", secret}, 403, ""},
		} {
			resp, body := apitest.GetWith(t, ts, tc.path, tc.header...)
			if resp.StatusCode != tc.status {
				t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
				continue
			}
			if (tc.status == 200 || tc.status == 404) && strings.TrimSpace(body) != tc.body {
				t.Errorf("%s: body %q, want %q", tc.name, body, tc.body)
			}
			if tc.status == 200 {
				// The payload is JSON text inside a JSON string, as posthog-node expects.
				var s any
				if err := json.Unmarshal([]byte(body), &s); err != nil {
					t.Errorf("%s: %v", tc.name, err)
				}
			}
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, resp.Header.Get("WWW-Authenticate"))
			}
		}

		// The mark survives an edit and can be taken off.
		id := remote["id"]
		resp, patched := b.Send("PATCH", fmt.Sprintf("/api/projects/%d/feature_flags/%v/", ts.Project.ID, id), `{"name":"renamed"}`, true)
		if resp.StatusCode != 200 || patched["is_remote_configuration"] != true {
			t.Fatalf("patch: %d %v", resp.StatusCode, patched)
		}
		b.Send("PATCH", fmt.Sprintf("/api/projects/%d/feature_flags/%v/", ts.Project.ID, id), `{"is_remote_configuration":false}`, true)
		if resp, _ := apitest.GetWith(t, ts, "/api/projects/@current/feature_flags/site-config/remote_config", "Authorization", secret); resp.StatusCode != 404 {
			t.Fatalf("after unmarking: %d", resp.StatusCode)
		}
		// The mark is not part of the filters SDKs evaluate.
		_, defs := apitest.GetWith(t, ts, "/api/feature_flag/local_evaluation", "Authorization", secret)
		if strings.Contains(defs, "gatehouse_is_remote_configuration") {
			t.Fatalf("local evaluation shows the stored mark: %s", defs)
		}
	})
}

func TestProjectConfigDocument(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		tok := ts.Project.APIToken
		resp, body := apitest.GetWith(t, ts, "/array/"+tok+"/config", "Origin", "https://shop.example.net")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
			resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Cache-Control") != "public, max-age=300" {
			t.Fatalf("config: %d %v %s", resp.StatusCode, resp.Header, body)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		if doc["token"] != tok || doc["hasFeatureFlags"] != false || doc["sessionRecording"] != false || doc["surveys"] != false ||
			doc["analytics"].(map[string]any)["endpoint"] != "/i/v0/e/" || fmt.Sprint(doc["supportedCompression"]) != "[gzip gzip-js]" ||
			doc["defaultIdentifiedOnly"] != true || fmt.Sprint(doc["siteApps"]) != "[]" {
			t.Fatalf("document %v", doc)
		}
		etag := resp.Header.Get("ETag")
		if resp, _ := apitest.GetWith(t, ts, "/array/"+tok+"/config/", "If-None-Match", etag); resp.StatusCode != 304 {
			t.Fatalf("revalidation: %d", resp.StatusCode)
		}
		// An active flag turns hasFeatureFlags on, and the ETag changes.
		b := apitest.OwnerBrowser(t, ts)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"beta"}`)
		resp, body = apitest.GetWith(t, ts, "/array/"+tok+"/config", "If-None-Match", etag)
		if resp.StatusCode != 200 || !strings.Contains(body, `"hasFeatureFlags":true`) {
			t.Fatalf("after a flag: %d %s", resp.StatusCode, body)
		}

		resp, script := apitest.GetWith(t, ts, "/array/"+tok+"/config.js")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/javascript" || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(script, `window._POSTHOG_REMOTE_CONFIG["`+tok+`"] = {"config":{`) || !strings.Contains(script, `"siteApps":[]`) {
			t.Fatalf("config.js: %d %s", resp.StatusCode, script)
		}
		if resp, _ := ts.Do(t, "OPTIONS", "/array/"+tok+"/config", nil, "Origin", "https://shop.example.net", "Access-Control-Request-Method", "GET"); resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
		}

		for _, tc := range []struct {
			path   string
			status int
			code   string
		}{
			{"/array/phc_unknownunknownunknown/config", 404, "not_found"},
			{"/array/phc_unknownunknownunknown/config.js", 404, "not_found"},
			{"/array/bad.token/config", 400, "invalid_input"},
			{"/array/" + strings.Repeat("a", 201) + "/config", 400, "invalid_input"},
		} {
			resp, body := apitest.GetWith(t, ts, tc.path)
			if resp.StatusCode != tc.status || !strings.Contains(body, `"code":"`+tc.code+`"`) || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%s: %d %s", tc.path, resp.StatusCode, body)
			}
		}
	})
}

func TestCaptureAIBatchAndV1(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		// An allow-list that excludes the client: capture stays open.
		ts := apitest.NewServer(t, engine, apitest.Options{Allowed: "10.0.0.0/8"})
		tok := ts.Project.APIToken
		ai := fmt.Sprintf(`{"api_key":%q,"batch":[{"event":"$ai_generation","distinct_id":"u1","properties":{"$ai_model":"m"}}],"sent_at":"2026-12-06T00:00:00Z"}`, tok)
		for _, path := range []string{"/i/v0/ai/batch/", "/i/v0/ai/batch"} {
			before := ts.Count(t)
			resp, body := ts.Do(t, "POST", path, strings.NewReader(ai), "Content-Type", "application/json")
			if resp.StatusCode != 200 || strings.TrimSpace(body) != `{"status":1}` || ts.Count(t)-before != 1 {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
			}
		}

		id1, id2 := "01937d2a-0000-7000-8000-000000000001", "01937D2A-0000-7000-8000-000000000002"
		v1 := fmt.Sprintf(`{"created_at":"2026-12-06T00:00:00Z","batch":[
			{"uuid":%q,"event":"signed up","distinct_id":"u1","timestamp":"2026-12-06T00:00:00Z","options":{},"properties":{"plan":"pro"}},
			{"uuid":%q,"event":"$pageview","distinct_id":7,"timestamp":"2026-12-06T00:00:01Z","options":{},"properties":{}}]}`, id1, id2)
		hdr := []string{"Authorization", "Bearer " + tok, "Content-Type", "application/json", "PostHog-Sdk-Info", "posthog-node/5.0.0", "PostHog-Attempt", "1"}
		before := ts.Count(t)
		resp, body := ts.Do(t, "POST", "/i/v1/analytics/events", strings.NewReader(v1), hdr...)
		if resp.StatusCode != 200 || ts.Count(t)-before != 2 {
			t.Fatalf("v1: %d %s", resp.StatusCode, body)
		}
		var out struct {
			Results map[string]struct {
				Result string `json:"result"`
			} `json:"results"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || out.Results[id1].Result != "ok" || out.Results[strings.ToLower(id2)].Result != "ok" {
			t.Fatalf("v1 results: %s %v", body, err)
		}
		// Gzip, as posthog-node sends it with Content-Encoding.
		gzBody := strings.ReplaceAll(strings.ReplaceAll(v1, "0001\"", "0011\""), "0002\"", "0012\"")
		before = ts.Count(t)
		resp, body = ts.Do(t, "POST", "/i/v1/analytics/events/", strings.NewReader(string(apitest.Gz(t, gzBody))), append(hdr, "Content-Encoding", "gzip")...)
		if resp.StatusCode != 200 || ts.Count(t)-before != 2 {
			t.Fatalf("v1 gzip: %d %s", resp.StatusCode, body)
		}

		for _, tc := range []struct {
			name   string
			body   string
			header []string
			status int
			tag    string
		}{
			{"no token", v1, []string{"Content-Type", "application/json"}, 401, "invalid_api_token"},
			{"unknown token", v1, []string{"Authorization", "Bearer phc_unknownunknownunknown"}, 401, "invalid_api_token"},
			{"empty batch", `{"created_at":"x","batch":[]}`, hdr, 400, "empty_batch"},
			{"not JSON", `{`, hdr, 400, "invalid_body"},
			{"missing uuid", `{"batch":[{"event":"a","distinct_id":"u"}]}`, hdr, 400, "missing_uuid"},
			{"duplicate uuid", fmt.Sprintf(`{"batch":[{"uuid":%q,"event":"a","distinct_id":"u"},{"uuid":%q,"event":"a","distinct_id":"u"}]}`, id1, strings.ToUpper(id1)), hdr, 400, "duplicate_uuid"},
			{"missing event", fmt.Sprintf(`{"batch":[{"uuid":%q,"distinct_id":"u"}]}`, id1), hdr, 400, "missing_event"},
			{"missing distinct id", fmt.Sprintf(`{"batch":[{"uuid":%q,"event":"a"}]}`, id1), hdr, 400, "missing_distinct_id"},
		} {
			before := ts.Count(t)
			resp, body := ts.Do(t, "POST", "/i/v1/analytics/events", strings.NewReader(tc.body), tc.header...)
			var e map[string]any
			json.Unmarshal([]byte(body), &e)
			if resp.StatusCode != tc.status || e["error"] != tc.tag || e["error_description"] == "" || ts.Count(t) != before {
				t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
			}
		}
	})
}
