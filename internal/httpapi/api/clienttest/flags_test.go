package clienttest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/gatehouse-auth/gatehouse/internal/featureflag"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestFeatureFlagCRUD(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		base := fmt.Sprintf("/api/projects/%d/feature_flags/", ts.Project.ID)

		created := apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"new-checkout","name":"New checkout","filters":{"groups":[{"properties":[],"rollout_percentage":30}],"payloads":{"true":{"color":"blue"}}}}`)
		id := int64(created["id"].(float64))
		if created["key"] != "new-checkout" || created["active"] != true || created["version"] != float64(1) || created["deleted"] != false ||
			created["rollout_percentage"] != float64(30) || created["created_by"].(map[string]any)["email"] != "owner@example.com" {
			t.Fatalf("created %v", created)
		}
		if p := created["filters"].(map[string]any)["payloads"].(map[string]any)["true"]; p != `{"color":"blue"}` {
			t.Fatalf("payload stored as %v", p)
		}

		resp, list := b.Send("GET", base, "", false)
		if resp.StatusCode != 200 || list["count"] != float64(1) || list["results"].([]any)[0].(map[string]any)["key"] != "new-checkout" {
			t.Fatalf("list: %d %v", resp.StatusCode, list)
		}
		resp, one := b.Send("GET", fmt.Sprintf("%s%d/", base, id), "", false)
		if resp.StatusCode != 200 || one["name"] != "New checkout" {
			t.Fatalf("get: %d %v", resp.StatusCode, one)
		}
		// @current and the environments alias reach the same project.
		if resp, _ := b.Send("GET", fmt.Sprintf("/api/environments/@current/feature_flags/%d", id), "", false); resp.StatusCode != 200 {
			t.Fatalf("@current: %d", resp.StatusCode)
		}

		resp, patched := b.Send("PATCH", fmt.Sprintf("%s%d/", base, id), `{"active":false,"name":"Renamed","version":1}`, true)
		if resp.StatusCode != 200 || patched["active"] != false || patched["name"] != "Renamed" || patched["version"] != float64(2) || patched["key"] != "new-checkout" {
			t.Fatalf("patch: %d %v", resp.StatusCode, patched)
		}
		// An edit based on an old version is refused.
		resp, stale := b.Send("PATCH", fmt.Sprintf("%s%d/", base, id), `{"name":"Stale","version":1}`, true)
		if resp.StatusCode != 409 || stale["attr"] != "version" {
			t.Fatalf("stale patch: %d %v", resp.StatusCode, stale)
		}
		// CSRF is required for a session write.
		if resp, _ := b.Send("PATCH", fmt.Sprintf("%s%d/", base, id), `{"name":"x"}`, false); resp.StatusCode != 403 {
			t.Fatalf("patch without CSRF: %d", resp.StatusCode)
		}

		for _, tc := range []struct{ body, attr, code string }{
			{`{"key":"new-checkout"}`, "key", "unique"},
			{`{"key":"has space"}`, "key", "invalid_key"},
			{`{"name":"no key"}`, "key", "required"},
			{`{"key":"r","filters":{"groups":[{"rollout_percentage":120}]}}`, "filters", "invalid_input"},
			{`{"key":"v","filters":{"groups":[{}],"multivariate":{"variants":[{"key":"a","rollout_percentage":60},{"key":"b","rollout_percentage":60}]}}}`, "filters", "invalid_input"},
			{`{"key":"o","filters":{"groups":[{"properties":[{"key":"x","operator":"sql_injection","value":"1"}]}]}}`, "filters", "invalid_input"},
			{`{"key":"t","filters":"nope"}`, "filters", "invalid_input"},
		} {
			resp, out := b.Send("POST", base, tc.body, true)
			if resp.StatusCode != 400 || out["type"] != "validation_error" || out["attr"] != tc.attr || out["code"] != tc.code {
				t.Errorf("%s: %d %v", tc.body, resp.StatusCode, out)
			}
		}

		// PostHog refuses DELETE with an empty 405; PATCH {"deleted": true}
		// soft-deletes.
		if resp, out := b.Send("DELETE", fmt.Sprintf("%s%d/", base, id), "", true); resp.StatusCode != 405 || out != nil || resp.ContentLength != 0 {
			t.Fatalf("delete: %d %v", resp.StatusCode, out)
		}
		if resp, _ := b.Send("GET", fmt.Sprintf("%s%d/", base, id), "", false); resp.StatusCode != 200 {
			t.Fatalf("flag after a refused delete: %d", resp.StatusCode)
		}
		if resp, out := b.Send("PATCH", fmt.Sprintf("%s%d/", base, id), `{"deleted":true}`, true); resp.StatusCode != 200 || out["deleted"] != true {
			t.Fatalf("soft delete: %d %v", resp.StatusCode, out)
		}
		if resp, _ := b.Send("GET", fmt.Sprintf("%s%d/", base, id), "", false); resp.StatusCode != 404 {
			t.Fatalf("deleted flag: %d", resp.StatusCode)
		}
		if resp, _ := b.Send("PATCH", fmt.Sprintf("%s%d/", base, id), `{"deleted":true}`, true); resp.StatusCode != 404 {
			t.Fatalf("second delete: %d", resp.StatusCode)
		}
		// The key is free again.
		again := apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"new-checkout"}`)
		if resp, out := b.Send("PATCH", fmt.Sprintf("%s%v/", base, again["id"]), `{"deleted":true}`, true); resp.StatusCode != 200 || out["deleted"] != true {
			t.Fatalf("patch deleted: %d %v", resp.StatusCode, out)
		}
		if resp, list := b.Send("GET", base, "", false); resp.StatusCode != 200 || list["count"] != float64(0) {
			t.Fatalf("list after deletes: %v", list)
		}

		// Anonymous callers and members of other organizations get nothing.
		anon := apitest.NewBrowser(t, ts)
		if resp, out := anon.Send("GET", base, "", false); resp.StatusCode != 401 || out["code"] != "not_authenticated" {
			t.Fatalf("anonymous list: %d %v", resp.StatusCode, out)
		}
		other, otherProject := apitest.Outsider(t, ts)
		for _, m := range []string{"GET", "POST"} {
			if resp, _ := other.Send(m, base, `{"key":"intruder"}`, true); resp.StatusCode != 404 {
				t.Fatalf("outsider %s: %d", m, resp.StatusCode)
			}
		}
		// …and the owner cannot reach the outsider's project.
		if resp, _ := b.Send("GET", fmt.Sprintf("/api/projects/%d/feature_flags/", otherProject.ID), "", false); resp.StatusCode != 404 {
			t.Fatalf("owner in another org: %d", resp.StatusCode)
		}
		if resp, _ := b.Send("GET", "/api/projects/notanumber/feature_flags/", "", false); resp.StatusCode != 404 {
			t.Fatalf("bad project id: %d", resp.StatusCode)
		}
	})
}

func TestLocalEvaluationAuthAndETag(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"beta","filters":{"groups":[{"rollout_percentage":50}]}}`)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"off","active":false}`)
		bearer := "Bearer " + ts.Secret.Reveal()
		tok := url.QueryEscape(ts.Project.APIToken)
		paths := []string{
			"/api/feature_flag/local_evaluation?token=" + tok + "&send_cohorts",
			fmt.Sprintf("/api/projects/%d/feature_flags/local_evaluation/", ts.Project.ID),
			"/flags/definitions?token=" + tok + "&send_cohorts",
			"/api/feature_flag/local_evaluation",
		}
		var etag string
		for _, p := range paths {
			resp, body := apitest.GetWith(t, ts, p, "Authorization", bearer)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", p, resp.StatusCode, body)
			}
			var out struct {
				Flags            []map[string]any  `json:"flags"`
				GroupTypeMapping map[string]string `json:"group_type_mapping"`
				Cohorts          map[string]any    `json:"cohorts"`
			}
			if err := json.Unmarshal([]byte(body), &out); err != nil || len(out.Flags) != 2 || out.GroupTypeMapping == nil || out.Cohorts == nil {
				t.Fatalf("%s: %v %s", p, err, body)
			}
			if out.Flags[0]["key"] != "beta" || out.Flags[1]["active"] != false || out.Flags[0]["filters"].(map[string]any)["groups"] == nil {
				t.Fatalf("definitions %v", out.Flags)
			}
			if etag == "" {
				etag = resp.Header.Get("ETag")
			} else if resp.Header.Get("ETag") != etag {
				t.Fatalf("ETag differs between paths: %q %q", etag, resp.Header.Get("ETag"))
			}
		}
		if !strings.HasPrefix(etag, `"`) {
			t.Fatalf("ETag %q", etag)
		}
		resp, body := apitest.GetWith(t, ts, paths[2], "Authorization", bearer, "If-None-Match", etag)
		if resp.StatusCode != 304 || body != "" || resp.Header.Get("ETag") != etag {
			t.Fatalf("If-None-Match: %d %q", resp.StatusCode, body)
		}
		if resp, _ := apitest.GetWith(t, ts, paths[2], "Authorization", bearer, "If-None-Match", `W/`+etag); resp.StatusCode != 304 {
			t.Fatalf("weak If-None-Match: %d", resp.StatusCode)
		}
		// A change to any flag changes the ETag.
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"gamma"}`)
		if resp, _ := apitest.GetWith(t, ts, paths[2], "Authorization", bearer, "If-None-Match", etag); resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
			t.Fatalf("after a change: %d %q", resp.StatusCode, resp.Header.Get("ETag"))
		}

		// A signed-in member may read the definitions too.
		if resp, _ := b.Send("GET", paths[1], "", false); resp.StatusCode != 200 {
			t.Fatalf("session: %d", resp.StatusCode)
		}

		_, otherProject := apitest.Outsider(t, ts)
		wrong := "phs_" + strings.Repeat("x", 48)
		for _, tc := range []struct {
			name   string
			path   string
			header []string
			status int
		}{
			{"no credentials", paths[0], nil, 401},
			{"unknown secret", paths[2], []string{"Authorization", "Bearer " + wrong}, 401},
			{"malformed secret", paths[2], []string{"Authorization", "Bearer phs_bad-chars!"}, 401},
			{"public token as secret", paths[2], []string{"Authorization", "Bearer " + ts.Project.APIToken}, 401},
			{"lower-case bearer", paths[2], []string{"Authorization", "bearer " + ts.Secret.Reveal()}, 401},
			{"secret of another project's token", "/flags/definitions?token=" + url.QueryEscape(otherProject.APIToken), []string{"Authorization", bearer}, 403},
			{"secret for another project's path", fmt.Sprintf("/api/projects/%d/feature_flags/local_evaluation", otherProject.ID), []string{"Authorization", bearer}, 403},
			{"secret in the query string", paths[0] + "&secret_api_key=" + url.QueryEscape(ts.Secret.Reveal()), nil, 401},
		} {
			resp, body := apitest.GetWith(t, ts, tc.path, tc.header...)
			if resp.StatusCode != tc.status || strings.Contains(body, `"flags"`) {
				t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
			}
			// (A phc_ token in the header is tried as a personal API key,
			// whose authenticator advertises Bearer too.)
			if tc.status == 401 && resp.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("%s: WWW-Authenticate %q", tc.name, resp.Header.Get("WWW-Authenticate"))
			}
		}
		// A member of another organization cannot read this project's flags.
		other := apitest.NewBrowser(t, ts)
		other.Login("outsider@example.org", "another horse battery staple")
		if resp, _ := other.Send("GET", paths[1], "", false); resp.StatusCode != 404 {
			t.Fatalf("outsider session: %d", resp.StatusCode)
		}
		if resp, _ := other.Send("GET", "/api/feature_flag/local_evaluation?token="+tok, "", false); resp.StatusCode != 404 {
			t.Fatalf("outsider session by token: %d", resp.StatusCode)
		}

		// After a rotation the old secret keeps working as the backup; after
		// a second one it stops.
		ctx := context.Background()
		s2 := gatehouse.NewProjectSecret()
		if err := ts.Store.RotateProjectSecret(ctx, ts.Project.ID, gatehouse.HashToken(s2), gatehouse.MaskToken(s2)); err != nil {
			t.Fatal(err)
		}
		for _, s := range []gatehouse.Secret{ts.Secret, s2} {
			if resp, _ := apitest.GetWith(t, ts, paths[2], "Authorization", "Bearer "+s.Reveal()); resp.StatusCode != 200 {
				t.Fatalf("after one rotation: %d", resp.StatusCode)
			}
		}
		s3 := gatehouse.NewProjectSecret()
		if err := ts.Store.RotateProjectSecret(ctx, ts.Project.ID, gatehouse.HashToken(s3), gatehouse.MaskToken(s3)); err != nil {
			t.Fatal(err)
		}
		if resp, _ := apitest.GetWith(t, ts, paths[2], "Authorization", "Bearer "+ts.Secret.Reveal()); resp.StatusCode != 401 {
			t.Fatalf("secret two rotations old: %d", resp.StatusCode)
		}
		if strings.Contains(ts.Logs.String(), ts.Secret.Reveal()) || strings.Contains(ts.Logs.String(), s2.Reveal()) {
			t.Fatal("a secret reached the logs")
		}
	})
}

func TestFlagsEndpointShapesAndEncodings(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"everyone","filters":{"groups":[{"rollout_percentage":100}],"payloads":{"true":"{\"a\":1}"}}}`)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"pro-only","filters":{"groups":[{"properties":[{"key":"plan","value":["pro"],"operator":"exact","type":"person"}]}]}}`)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"mv","filters":{"groups":[{}],"multivariate":{"variants":[{"key":"control","rollout_percentage":50},{"key":"test","rollout_percentage":50}]}}}`)
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"disabled","active":false,"filters":{"groups":[{}]}}`)
		tok := ts.Project.APIToken
		body := fmt.Sprintf(`{"token":%q,"distinct_id":"user-1","person_properties":{"plan":"pro"}}`, tok)
		variant := featureflag.Evaluate(&featureflag.Flag{Key: "mv", Active: true, Filters: featureflag.Filters{Groups: []featureflag.Group{{}},
			Multivariate: &featureflag.Multivariate{Variants: []featureflag.Variant{{Key: "control", RolloutPercentage: 50}, {Key: "test", RolloutPercentage: 50}}}}}, "user-1", nil).Variant

		status, out := apitest.PostFlags(t, ts, "/flags", []byte(body))
		want := map[string]any{"everyone": true, "pro-only": true, "mv": variant}
		if status != 200 || fmt.Sprint(out["featureFlags"]) != fmt.Sprint(want) || out["errorsWhileComputingFlags"] != false {
			t.Fatalf("/flags: %d %v", status, out)
		}
		if out["featureFlagPayloads"].(map[string]any)["everyone"] != `{"a":1}` {
			t.Fatalf("payloads %v", out["featureFlagPayloads"])
		}

		status, out = apitest.PostFlags(t, ts, "/flags/?v=2", []byte(body))
		detail := out["flags"].(map[string]any)
		if status != 200 || len(detail) != 3 || out["requestId"] == nil {
			t.Fatalf("v2: %d %v", status, out)
		}
		pro := detail["pro-only"].(map[string]any)
		if pro["enabled"] != true || pro["variant"] != nil || pro["reason"].(map[string]any)["code"] != "condition_match" ||
			pro["reason"].(map[string]any)["condition_index"] != float64(0) || pro["metadata"].(map[string]any)["version"] != float64(1) {
			t.Fatalf("v2 detail %v", pro)
		}
		if detail["mv"].(map[string]any)["variant"] != variant || detail["everyone"].(map[string]any)["metadata"].(map[string]any)["payload"] != `{"a":1}` {
			t.Fatalf("v2 detail %v", detail)
		}

		// Without the property, pro-only is off (and says why).
		status, out = apitest.PostFlags(t, ts, "/flags?v=2", []byte(fmt.Sprintf(`{"api_key":%q,"distinct_id":42}`, tok)))
		pro = out["flags"].(map[string]any)["pro-only"].(map[string]any)
		if status != 200 || pro["enabled"] != false || pro["reason"].(map[string]any)["code"] != "no_condition_match" {
			t.Fatalf("numeric distinct_id, no properties: %d %v", status, out)
		}

		// /decide's versions.
		_, out = apitest.PostFlags(t, ts, "/decide/", []byte(body))
		if fmt.Sprint(out["featureFlags"]) != fmt.Sprint([]any{"everyone", "pro-only", "mv"}) || out["supportedCompression"] == nil {
			t.Fatalf("decide v1: %v", out)
		}
		_, out = apitest.PostFlags(t, ts, "/decide/?v=2", []byte(fmt.Sprintf(`{"$token":%q,"distinct_id":"user-1"}`, tok)))
		if fmt.Sprint(out["featureFlags"]) != fmt.Sprint(map[string]any{"everyone": true, "mv": variant}) {
			t.Fatalf("decide v2: %v", out)
		}
		_, out = apitest.PostFlags(t, ts, "/decide/?v=3", []byte(body))
		if fmt.Sprint(out["featureFlags"]) != fmt.Sprint(want) || out["featureFlagPayloads"] == nil {
			t.Fatalf("decide v3: %v", out)
		}
		_, out = apitest.PostFlags(t, ts, "/decide/?v=4", []byte(body))
		if len(out["flags"].(map[string]any)) != 3 {
			t.Fatalf("decide v4: %v", out)
		}
		// flag_keys limits the answer.
		_, out = apitest.PostFlags(t, ts, "/flags", []byte(fmt.Sprintf(`{"token":%q,"distinct_id":"u","flag_keys":["everyone"]}`, tok)))
		if fmt.Sprint(out["featureFlags"]) != "map[everyone:true]" {
			t.Fatalf("flag_keys: %v", out)
		}

		// The same request in every encoding.
		var gzBody bytes.Buffer
		gzBody.Write(apitest.Gz(t, body))
		form := url.Values{"data": {base64.StdEncoding.EncodeToString([]byte(body))}}.Encode()
		for _, tc := range []struct {
			name, path string
			body       []byte
			header     []string
		}{
			{"base64 body", "/flags", []byte(base64.StdEncoding.EncodeToString([]byte(body))), nil},
			{"base64 by parameter", "/flags?compression=base64", []byte(base64.StdEncoding.EncodeToString([]byte(body))), nil},
			{"gzip", "/flags?compression=gzip", gzBody.Bytes(), nil},
			{"gzip magic", "/decide/?v=3", gzBody.Bytes(), []string{"Content-Type", "application/json"}},
			{"form data=", "/decide/?v=3", []byte(form), []string{"Content-Type", "application/x-www-form-urlencoded"}},
		} {
			status, out := apitest.PostFlags(t, ts, tc.path, tc.body, tc.header...)
			if status != 200 || fmt.Sprint(out["featureFlags"]) != fmt.Sprint(want) {
				t.Errorf("%s: %d %v", tc.name, status, out)
			}
		}
		// GET with the payload in data= works too.
		resp, text := ts.Do(t, "GET", "/flags?data="+url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(body))), nil)
		if resp.StatusCode != 200 || !strings.Contains(text, `"pro-only":true`) {
			t.Fatalf("GET data=: %d %s", resp.StatusCode, text)
		}

		for _, tc := range []struct {
			name   string
			body   string
			status int
			code   string
		}{
			{"no token", `{"distinct_id":"u"}`, 401, "invalid_api_key"},
			{"unknown token", `{"token":"phc_unknown","distinct_id":"u"}`, 401, "invalid_api_key"},
			{"secret instead of token", fmt.Sprintf(`{"token":%q,"distinct_id":"u"}`, ts.Secret.Reveal()), 401, "invalid_api_key"},
			{"no distinct_id", fmt.Sprintf(`{"token":%q}`, tok), 400, "missing_distinct_id"},
			{"not JSON", `{"token":`, 400, "parse_error"},
			{"array", `[1,2]`, 400, "parse_error"},
			{"empty", ``, 400, "parse_error"},
		} {
			status, out := apitest.PostFlags(t, ts, "/flags", []byte(tc.body))
			if status != tc.status || out["code"] != tc.code {
				t.Errorf("%s: %d %v", tc.name, status, out)
			}
		}
		if resp, _ := ts.Do(t, "DELETE", "/flags", nil); resp.StatusCode != 405 {
			t.Fatalf("DELETE /flags: %d", resp.StatusCode)
		}
		resp, _ = ts.Do(t, "OPTIONS", "/flags", nil, "Origin", "https://shop.example.com", "Access-Control-Request-Method", "POST")
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" {
			t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
	})
}

func TestFlagsOpenOutsideAllowList(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Allowed: "10.0.0.0/8"})
	body := fmt.Sprintf(`{"token":%q,"distinct_id":"u"}`, ts.Project.APIToken)
	for _, p := range []string{"/flags/?v=2", "/decide/?v=3"} {
		if status, out := apitest.PostFlags(t, ts, p, []byte(body)); status != 200 {
			t.Fatalf("%s blocked: %d %v", p, status, out)
		}
	}
	// The local-evaluation API is not exempt.
	resp, _ := ts.Do(t, "GET", "/api/feature_flag/local_evaluation", nil, "Authorization", "Bearer "+ts.Secret.Reveal())
	if resp.StatusCode != 403 {
		t.Fatalf("local evaluation from a blocked address: %d", resp.StatusCode)
	}
}

// TestFlagsAgreeWithEvaluator checks /flags against the pure evaluator for
// many people: the answers the server gives are the ones local evaluation
// of the same definitions gives.
func TestFlagsAgreeWithEvaluator(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "evaluates every kind of flag for many people through /flags and the evaluator")
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.OwnerBrowser(t, ts)
	defs := map[string]string{
		"r37":  `{"key":"r37","filters":{"groups":[{"rollout_percentage":37}]}}`,
		"mv3":  `{"key":"mv3","filters":{"groups":[{"rollout_percentage":80}],"multivariate":{"variants":[{"key":"a","rollout_percentage":33.3},{"key":"b","rollout_percentage":33.3},{"key":"c","rollout_percentage":33.4}]}}}`,
		"cond": `{"key":"cond","filters":{"groups":[{"properties":[{"key":"email","operator":"icontains","value":"@example.com"}],"rollout_percentage":60},{"rollout_percentage":10}]}}`,
	}
	parsed := map[string]*featureflag.Flag{}
	for k, d := range defs {
		apitest.CreateFlag(t, b, ts.Project.ID, d)
		var in struct {
			Filters featureflag.Filters `json:"filters"`
		}
		json.Unmarshal([]byte(d), &in)
		parsed[k] = &featureflag.Flag{Key: k, Active: true, Filters: in.Filters}
	}
	for i := 0; i < 200; i++ {
		id := fmt.Sprintf("person-%d", i)
		props := map[string]any{"email": fmt.Sprintf("p%d@example.%s", i, []string{"com", "org"}[i%2])}
		pj, _ := json.Marshal(props)
		resp, text := ts.Do(t, "POST", "/flags", strings.NewReader(fmt.Sprintf(`{"token":%q,"distinct_id":%q,"person_properties":%s}`, ts.Project.APIToken, id, pj)))
		var out struct {
			FeatureFlags map[string]any `json:"featureFlags"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(io.NopCloser(strings.NewReader(text))).Decode(&out) != nil {
			t.Fatalf("%d %s", resp.StatusCode, text)
		}
		withID := map[string]any{"email": props["email"], "distinct_id": id}
		for k, f := range parsed {
			if want := featureflag.Evaluate(f, id, withID).Value(); out.FeatureFlags[k] != want {
				t.Fatalf("%s %s: server %v, evaluator %v", id, k, out.FeatureFlags[k], want)
			}
		}
	}
}

// Local evaluation with the other credentials SDKs use: a personal API key
// with feature_flag:read (phx_), and a project secret API key (docs/posthog-compat.md#project-secret-api-keys) with
// feature_flag:read. Keys without the scope, and keys of someone outside
// the project, are refused.
func TestLocalEvaluationWithKeys(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)
		apitest.CreateFlag(t, owner, ts.Project.ID, `{"key":"beta","filters":{"groups":[{"rollout_percentage":50}]}}`)
		tok := url.QueryEscape(ts.Project.APIToken)
		paths := []string{
			"/api/feature_flag/local_evaluation?token=" + tok,
			fmt.Sprintf("/api/projects/%d/feature_flags/local_evaluation/", ts.Project.ID),
			"/flags/definitions?token=" + tok,
		}
		flagReader := apitest.MustKey(t, owner, "feature_flag:read")
		userReader := apitest.MustKey(t, owner, "user:read")
		base := fmt.Sprintf("/api/projects/%d/project_secret_api_keys/", ts.Project.ID)
		_, k := owner.Send("POST", base, `{"label":"sdk","scopes":["feature_flag:read"]}`, true)
		projectKey, _ := k["value"].(string)
		_, k = owner.Send("POST", base, `{"label":"endpoints","scopes":["endpoint:read"]}`, true)
		endpointKey, _ := k["value"].(string)
		if projectKey == "" || endpointKey == "" {
			t.Fatal("could not create project secret keys")
		}
		for _, p := range paths {
			for _, key := range []string{flagReader, projectKey} {
				resp, body := apitest.GetWith(t, ts, p, "Authorization", "Bearer "+key)
				if resp.StatusCode != 200 || !strings.Contains(body, `"beta"`) {
					t.Fatalf("%s with %s…: %d %s", p, key[:8], resp.StatusCode, body)
				}
			}
			for _, key := range []string{userReader, endpointKey} {
				if resp, body := apitest.GetWith(t, ts, p, "Authorization", "Bearer "+key); resp.StatusCode != 403 {
					t.Fatalf("%s with a key lacking feature_flag:read: %d %s", p, resp.StatusCode, body)
				}
			}
		}
		// Someone from another organization, with the right scope.
		stranger, _ := apitest.Outsider(t, ts)
		strangerKey := apitest.MustKey(t, stranger, "feature_flag:read")
		for _, p := range paths {
			if resp, body := apitest.GetWith(t, ts, p, "Authorization", "Bearer "+strangerKey); resp.StatusCode < 400 || strings.Contains(body, `"beta"`) {
				t.Fatalf("%s with an outsider's key: %d %s", p, resp.StatusCode, body)
			}
		}
		// Rolling the project key or deleting the personal key stops the old
		// value on the next request.
		_, list := owner.List(base)
		for _, pk := range list {
			if pk["label"] == "sdk" {
				if resp, _ := owner.Send("POST", base+pk["id"].(string)+"/roll/", ``, true); resp.StatusCode != 200 {
					t.Fatalf("roll: %d", resp.StatusCode)
				}
			}
		}
		if resp, _ := apitest.GetWith(t, ts, paths[0], "Authorization", "Bearer "+projectKey); resp.StatusCode != 401 {
			t.Fatalf("rolled project key: %d", resp.StatusCode)
		}
		if resp, _ := owner.Send("DELETE", "/api/personal_api_keys/"+keyID(t, owner, flagReader)+"/", ``, true); resp.StatusCode != 204 {
			t.Fatalf("delete key: %d", resp.StatusCode)
		}
		if resp, _ := apitest.GetWith(t, ts, paths[0], "Authorization", "Bearer "+flagReader); resp.StatusCode != 401 {
			t.Fatalf("deleted personal key: %d", resp.StatusCode)
		}
	})
}

// keyID finds the id of the signed-in user's personal key whose mask
// matches value.
func keyID(t *testing.T, b *apitest.Browser, value string) string {
	t.Helper()
	_, list := b.List("/api/personal_api_keys/")
	for _, k := range list {
		if k["mask_value"] == gatehouse.MaskToken(gatehouse.Secret(value)) {
			return k["id"].(string)
		}
	}
	t.Fatalf("no key with the mask of %s…", value[:8])
	return ""
}

// /flags may answer from memory, but never from before a change: a flag
// switched off, a flag deleted and a token reset are each seen by the
// very next call.
func TestFlagsSeeEveryChangeOnTheNextCall(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		flags := func(token string) (int, map[string]any) {
			t.Helper()
			return apitest.PostFlags(t, ts, "/flags/?v=2", []byte(fmt.Sprintf(`{"token":%q,"distinct_id":"u1"}`, token)))
		}
		a := apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"a","filters":{"groups":[{"rollout_percentage":100}]}}`)
		bf := apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"b","filters":{"groups":[{"rollout_percentage":100}]}}`)
		enabled := func(out map[string]any, key string) any {
			f, _ := out["flags"].(map[string]any)[key].(map[string]any)
			return f["enabled"]
		}
		for range 3 { // served from memory after the first
			if code, out := flags(ts.Project.APIToken); code != 200 || enabled(out, "a") != true || enabled(out, "b") != true {
				t.Fatalf("%d %v", code, out)
			}
		}
		path := fmt.Sprintf("/api/projects/%d/feature_flags/", ts.Project.ID)
		if resp, out := b.Send("PATCH", fmt.Sprintf("%s%v/", path, a["id"]), `{"active":false}`, true); resp.StatusCode != 200 {
			t.Fatalf("switch off: %d %v", resp.StatusCode, out)
		}
		if code, out := flags(ts.Project.APIToken); code != 200 || out["flags"].(map[string]any)["a"] != nil || enabled(out, "b") != true {
			t.Fatalf("after switching a off (an inactive flag is left out): %d %v", code, out)
		}
		if resp, out := b.Send("PATCH", fmt.Sprintf("%s%v/", path, bf["id"]), `{"deleted":true}`, true); resp.StatusCode != 200 {
			t.Fatalf("delete: %d %v", resp.StatusCode, out)
		}
		if code, out := flags(ts.Project.APIToken); code != 200 || out["flags"].(map[string]any)["b"] != nil {
			t.Fatalf("after deleting b: %d %v", code, out)
		}
		resp, p := b.Send("PATCH", fmt.Sprintf("/api/projects/%d/reset_token/", ts.Project.ID), "", true)
		if resp.StatusCode != 200 {
			t.Fatalf("reset_token: %d %v", resp.StatusCode, p)
		}
		if code, out := flags(ts.Project.APIToken); code != 401 {
			t.Fatalf("old token after reset: %d %v", code, out)
		}
		if code, out := flags(p["api_token"].(string)); code != 200 || len(out["flags"].(map[string]any)) != 0 {
			t.Fatalf("new token: %d %v", code, out)
		}
	})
}
