package clienttest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// nodeClientResult is what testdata/posthog-node5/client.js prints.
type nodeClientResult struct {
	Local       map[string]map[string]any `json:"local"`
	Remote      map[string]map[string]any `json:"remote"`
	Wrong       map[string]map[string]any `json:"wrong"`
	Errors      []string                  `json:"errors"`
	WrongErrors []string                  `json:"wrongErrors"`
	// 5.x only (cfg "extras").
	RemoteConfig    any                       `json:"remoteConfig"`
	NotRemoteConfig any                       `json:"notRemoteConfig"`
	Evaluated       map[string]map[string]any `json:"evaluated"`
	V4Warnings      []string                  `json:"v4Warnings"`
	V1Mode          string                    `json:"v1Mode"`
}

// runNodeClient runs client.js with posthog-node from dir, or skips (fails
// when GATEHOUSE_TEST_REQUIRE lists node).
func runNodeClient(t *testing.T, dir string, cfg map[string]any) nodeClientResult {
	t.Helper()
	install := "install Node.js and the client: cd internal/httpapi/api/" + dir + " && npm ci"
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "node", "node is not on PATH; "+install)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "posthog-node", "package.json")); err != nil {
		testenv.Unavailable(t, "node", dir+"/node_modules/posthog-node is missing; "+install)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "posthog-node5", "client.js"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GATEHOUSE_CLIENT="+string(raw))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.js in %s: %v\n%s", dir, err, stderr.String())
	}
	var res nodeClientResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("client output: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	return res
}

// TestPostHogNodeClient drives the official posthog-node (5.x and 4.x)
// against a running Gatehouse: its events land, it evaluates flags locally
// with the project secret key and gets the same answers as /flags gives,
// and a wrong key loads nothing.
func TestPostHogNodeClient(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs posthog-node 5 and 4 under node on both engines")
	clients := []struct{ name, dir string }{
		{"posthog-node 5", filepath.Join("testdata", "posthog-node5")},
		{"posthog-node 4", filepath.Join("testdata", "posthog-node4")},
	}
	// Each way a client can authenticate local evaluation: the project's
	// secret token, and a personal API key with feature_flag:read.
	keys := []struct {
		name string
		key  func(t *testing.T, ts *apitest.Server, b *apitest.Browser) string
	}{
		{"project secret", func(t *testing.T, ts *apitest.Server, b *apitest.Browser) string { return ts.Secret.Reveal() }},
		{"personal key", func(t *testing.T, ts *apitest.Server, b *apitest.Browser) string {
			return apitest.MustKey(t, b, "feature_flag:read")
		}},
	}
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.OwnerBrowser(t, ts)
		// The flags of posthog_go_test.go: every filter kind, judged by the
		// test's own implementation of PostHog's rules (refEvaluate).
		for _, rf := range apitest.RefFlags {
			apitest.CreateFlag(t, b, ts.Project.ID, rf.Flag.Json())
		}
		apitest.CreateFlag(t, b, ts.Project.ID, `{"key":"site-config","is_remote_configuration":true,"active":false,"filters":{"groups":[{}],"payloads":{"true":{"theme":"dark"}}}}`)
		flagKeys := []string{"everyone", "half", "split", "company", "older", "paid", "two-groups"}

		ids := make([]string, 120)
		props := map[string]map[string]any{}
		for i := range ids {
			ids[i] = fmt.Sprintf("node-person-%d", i)
			p := map[string]any{"email": fmt.Sprintf("p%d@%s", i, []string{"acme.test", "other.test", "ACME.test"}[i%3]),
				"plan": []string{"free", "pro", "team", "PRO"}[i%4], "age": 18 + i%40}
			props[ids[i]] = p
		}
		for _, c := range clients {
			for _, k := range keys {
				t.Run(c.name+"/"+k.name, func(t *testing.T) {
					before := ts.Count(t)
					extras := strings.HasSuffix(c.name, "5")
					res := runNodeClient(t, c.dir, map[string]any{
						"host": ts.URL, "token": ts.Project.APIToken, "key": k.key(t, ts, b), "wrongKey": "phs_" + "Wr0ngSecretKeyWr0ngSecretKeyWr0ngSecretKey123",
						"ids": ids, "props": props, "events": 5, "label": c.name,
						"extras": extras, "remoteConfigKey": "site-config", "flagKeys": flagKeys,
					})
					want := 5
					if extras {
						// Two AI events (/i/v0/ai/batch/) and three v1 events
						// (/i/v1/analytics/events).
						want = 10
					}
					if got := ts.Count(t) - before; got != want {
						t.Fatalf("%d events landed, want %d", got, want)
					}
					if extras {
						checkNodeExtras(t, ts, res, ids, flagKeys)
					}
					if len(res.Errors) > 0 {
						t.Fatalf("local evaluation errors: %v", res.Errors)
					}
					// Person by person: /flags and the client's local
					// evaluation both give the reference's answer.
					enabled := 0
					leftToServer := map[string]int{}
					for _, id := range ids {
						local, remote := res.Local[id], res.Remote[id]
						for _, rf := range apitest.RefFlags {
							want := fmt.Sprint(apitest.RefEvaluate(rf.Flag, id, props[id], false))
							if rv, ok := remote[rf.Flag.Key]; rf.Flag.Active && (!ok || fmt.Sprint(rv) != want) {
								t.Fatalf("%s %s: /flags %v, reference %s", id, rf.Flag.Key, rv, want)
							}
							lv, ok := local[rf.Flag.Key]
							if !ok {
								leftToServer[rf.Flag.Key]++
								continue
							}
							if fmt.Sprint(lv) != want {
								t.Fatalf("%s %s: local %v, reference %s", id, rf.Flag.Key, lv, want)
							}
							if lv != false {
								enabled++
							}
						}
						if lv, ok := local["site-config"]; !ok || lv != false {
							t.Fatalf("%s: inactive flag evaluated to %v", id, lv)
						}
					}
					// Only is_not_set is left to the server by posthog-node.
					for key := range leftToServer {
						if key != "no-phone" {
							t.Errorf("posthog-node did not evaluate %s locally (%d people)", key, leftToServer[key])
						}
					}
					if enabled < len(ids) || enabled == len(ids)*len(apitest.RefFlags) {
						t.Fatalf("implausible spread: %d enabled values", enabled)
					}
					for id, v := range res.Wrong {
						if len(v) != 0 {
							t.Fatalf("a wrong key evaluated flags for %s: %v", id, v)
						}
					}
					t.Logf("wrong key errors reported by the client: %v", res.WrongErrors)
				})
			}
		}
		// The wrong secret was refused by the server.
		if resp, _ := ts.Do(t, "GET", "/flags/definitions?token="+ts.Project.APIToken, nil, "Authorization", "Bearer phs_Wr0ngSecretKeyWr0ngSecretKeyWr0ngSecretKey123"); resp.StatusCode != 401 {
			t.Fatalf("wrong secret: %d", resp.StatusCode)
		}
	})
}

// checkNodeExtras checks what only posthog-node 5.x does: the remote
// config payload (parsed by the client), evaluateFlags over /flags?v=4
// without the client's "may not support v4" notice and with the same
// answers as getAllFlags, and events sent by the AI lane and the v1
// capture mode, stored as sent.
func checkNodeExtras(t *testing.T, ts *apitest.Server, res nodeClientResult, ids []string, flagKeys []string) {
	t.Helper()
	if m, ok := res.RemoteConfig.(map[string]any); !ok || m["theme"] != "dark" {
		t.Errorf("remote config payload %#v", res.RemoteConfig)
	}
	if res.NotRemoteConfig != nil {
		t.Errorf("a flag that is not remote configuration gave %#v", res.NotRemoteConfig)
	}
	if len(res.V4Warnings) > 0 {
		t.Errorf("posthog-node doubts /flags?v=4: %v", res.V4Warnings)
	}
	for _, id := range ids {
		for _, key := range flagKeys {
			if got, want := fmt.Sprint(res.Evaluated[id][key]), fmt.Sprint(res.Remote[id][key]); got != want {
				t.Fatalf("%s %s: evaluateFlags %s, getAllFlags %s", id, key, got, want)
			}
		}
	}
	if res.V1Mode != "v1" {
		t.Errorf("the client did not use capture v1: %q", res.V1Mode)
	}
	evs, err := ts.Store.EventsOfProject(t.Context(), ts.Project.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range evs {
		seen[e.Name]++
	}
	if seen["$ai_generation"] == 0 || seen["$ai_span"] == 0 || seen["node v1 event"] < 3 {
		t.Errorf("AI and v1 events stored: %v", seen)
	}
}
