package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Key scoping on the flag-definition routes: the project picked by ?token=
// or the current project is resolved to its organization before the key's
// scoped organizations, scoped projects and the organization's switch for
// member keys are applied.
func TestAttackKeyScopingOnFlagRoutes(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)
		apitest.CreateFlag(t, owner, ts.Project.ID, `{"key":"own-flag","filters":{"groups":[{"rollout_percentage":100}]}}`)
		orgA := ts.User.CurrentOrganizationID
		orgB, projectB := apitest.SecondOrganization(t, ts, engine)

		scopedToA := apitest.CreateKey(t, owner, map[string]any{"label": "a", "scopes": []string{"feature_flag:read"}, "scoped_organizations": []string{orgA}})["value"].(string)
		teamA := apitest.CreateKey(t, owner, map[string]any{"label": "team", "scopes": []string{"feature_flag:read"}, "scoped_teams": []int64{ts.Project.ID}})["value"].(string)
		plain := apitest.MustKey(t, owner, "feature_flag:read")

		tokA, tokB := url.QueryEscape(ts.Project.APIToken), url.QueryEscape(projectB.APIToken)
		byToken := func(tok string) []string {
			return []string{"/api/feature_flag/local_evaluation?token=" + tok, "/flags/definitions?token=" + tok}
		}
		for _, p := range byToken(tokA) {
			for _, key := range []string{scopedToA, teamA, plain} {
				if resp, body := apitest.GetWith(t, ts, p, "Authorization", "Bearer "+key); resp.StatusCode != 200 || !strings.Contains(body, `"own-flag"`) {
					t.Fatalf("%s with a key for its own project: %d %s", p, resp.StatusCode, body)
				}
			}
		}
		for _, p := range byToken(tokB) {
			// The user is a member of B: an unscoped key reads B's flags.
			if resp, body := apitest.GetWith(t, ts, p, "Authorization", "Bearer "+plain); resp.StatusCode != 200 || !strings.Contains(body, `"other-org-flag"`) {
				t.Fatalf("%s with an unscoped key: %d %s", p, resp.StatusCode, body)
			}
			resp, body := apitest.GetWith(t, ts, p, "Authorization", "Bearer "+scopedToA)
			if resp.StatusCode != 403 || !strings.Contains(body, "API key does not have access to the requested organization: ID "+orgB+".") {
				t.Fatalf("%s with a key scoped to the other organization: %d %s", p, resp.StatusCode, body)
			}
			resp, body = apitest.GetWith(t, ts, p, "Authorization", "Bearer "+teamA)
			if resp.StatusCode != 403 || !strings.Contains(body, fmt.Sprintf("API key does not have access to the requested project: ID %d.", projectB.ID)) {
				t.Fatalf("%s with a key scoped to another project: %d %s", p, resp.StatusCode, body)
			}
		}

		// Without ?token= the project is the user's current one, under the
		// same rules.
		ts.ExecSQL(t, `UPDATE users SET current_organization_id = ?, current_project_id = ? WHERE id = ?`, orgB, projectB.ID, ts.User.ID)
		for _, p := range []string{"/api/feature_flag/local_evaluation", "/flags/definitions"} {
			if resp, body := apitest.GetWith(t, ts, p, "Authorization", "Bearer "+scopedToA); resp.StatusCode != 403 || strings.Contains(body, "other-org-flag") {
				t.Fatalf("%s, current project in the other organization: %d %s", p, resp.StatusCode, body)
			}
		}

		// Organization B stops member keys: the member's key is refused there.
		ts.ExecSQL(t, `UPDATE organizations SET members_can_use_personal_api_keys = ? WHERE id = ?`, false, orgB)
		for _, p := range append(byToken(tokB), fmt.Sprintf("/api/projects/%d/feature_flags/local_evaluation", projectB.ID)) {
			resp, body := apitest.GetWith(t, ts, p, "Authorization", "Bearer "+plain)
			if resp.StatusCode != 403 || !strings.Contains(body, "does not allow using personal API keys") {
				t.Fatalf("%s after B turned member keys off: %d %s", p, resp.StatusCode, body)
			}
		}
	})
}

// Every route that takes a personal API key applies the key's organization
// scoping to the organization the route works on, and a key never reaches
// an organization its user is not a member of.
func TestAttackKeyScopingOnEveryKeyRoute(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)
		orgA := ts.User.CurrentOrganizationID
		orgB, projectB := apitest.SecondOrganization(t, ts, engine)
		scopedToA := apitest.CreateKey(t, owner, map[string]any{"label": "a", "scopes": []string{"*"}, "scoped_organizations": []string{orgA}})["value"].(string)

		// A third organization, with a project, the user does not belong to.
		foreignOrg := gatehouse.NewUUID()
		ts.ExecSQL(t, `INSERT INTO organizations (id, name, enforce_2fa, members_can_use_personal_api_keys, created_at) VALUES (?, ?, ?, ?, ?)`,
			foreignOrg, "Foreign", false, true, time.Now().UTC())
		ts.ExecSQL(t, `INSERT INTO projects (organization_id, name, api_token, secret_api_token_hash, secret_api_token_mask, secret_api_token_backup_hash, secret_api_token_backup_mask, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			foreignOrg, "Foreign", "phc_foreign"+gatehouse.RandomToken(20), "sha256$"+gatehouse.RandomToken(20), "phs_...xxxx", "", "", time.Now().UTC())
		var foreignProject int64
		if err := ts.Store.DB().QueryRow(apitest.Rebind(engine, `SELECT id FROM projects WHERE organization_id = ?`), foreignOrg).Scan(&foreignProject); err != nil {
			t.Fatal(err)
		}
		unscoped := apitest.MustKey(t, owner, "*")

		patterns := []string{
			"GET /api/projects/{project}/feature_flags", "POST /api/projects/{project}/feature_flags",
			"GET /api/projects/{project}/feature_flags/{id}", "PATCH /api/projects/{project}/feature_flags/{id}",
			"DELETE /api/projects/{project}/feature_flags/{id}", "GET /api/projects/{project}/feature_flags/local_evaluation",
			"GET /api/environments/{project}/feature_flags", "GET /api/environments/{project}/feature_flags/local_evaluation",
		}
		for pattern := range httpapi.KeyRoutes() {
			patterns = append(patterns, pattern)
		}
		checked := 0
		for _, pattern := range patterns {
			method, path, _ := strings.Cut(pattern, " ")
			if !strings.Contains(path, "{org}") && !strings.Contains(path, "{project}") {
				continue
			}
			checked++
			for _, tc := range []struct {
				key, org string
				project  int64
				want     int
			}{
				{scopedToA, orgB, projectB.ID, 403},         // scoped elsewhere
				{unscoped, foreignOrg, foreignProject, 404}, // not a member
			} {
				p := strings.NewReplacer("{org}", tc.org, "{project}", fmt.Sprint(tc.project), "{id}", "1").Replace(path)
				resp, body := apitest.KeyRequest(t, ts, method, p, tc.key, `{}`)
				if resp.StatusCode != tc.want {
					t.Errorf("%s %s: %d %v, want %d", method, p, resp.StatusCode, body, tc.want)
				}
			}
		}
		if checked < 20 {
			t.Fatalf("only %d organization or project routes checked", checked)
		}
	})
}

// storeLegacyKey stores a personal API key for the test owner with a
// legacy PBKDF2 hash, as a PostHog import does.
func storeLegacyKey(t *testing.T, ts *apitest.Server, lk apitest.LegacyKey) {
	t.Helper()
	k := &gatehouse.PersonalAPIKey{ID: gatehouse.RandomToken(20), UserID: ts.User.ID, Label: "imported", MaskValue: gatehouse.MaskToken(lk.Value),
		SecureValue: lk.Hash, CreatedAt: time.Now().UTC()}
	if err := ts.Store.CreatePersonalAPIKey(context.Background(), k, gatehouse.MaxPersonalAPIKeys); err != nil {
		t.Fatal(err)
	}
}

// Unauthenticated CPU amplification: with a legacy PBKDF2 key stored,
// strings not shaped like PostHog's old keys cause no PBKDF2 at all; a
// well-shaped unknown string is hashed once and its miss remembered; a key
// stored after that miss, and the stored legacy key, still authenticate.
func TestAttackLegacyKeyHashAmplification(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs PBKDF2 at PostHog's legacy iteration counts on purpose, to count the runs")
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		imported := apitest.LegacyImportedKey260k.Value
		storeLegacyKey(t, ts, apitest.LegacyImportedKey260k)
		before := ts.ApiKeys.LegacyHashRuns()

		malformed := []string{"abc", "abc def", "phx_short", "phx_" + strings.Repeat("a", 31), "phx_" + strings.Repeat("a", 50),
			strings.Repeat("x", 31), strings.Repeat("x", 50), "phx_" + strings.Repeat("-", 40), "phx_" + strings.Repeat("a", 39) + "/",
			"phc_" + gatehouse.RandomToken(32), "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", "pha_" + gatehouse.RandomToken(35),
			"phx_" + strings.Repeat("a", 36) + "é", "phx_" + gatehouse.RandomToken(35) + " x"}
		var wg sync.WaitGroup
		statuses := make(chan int, 3*len(malformed))
		for _, s := range malformed {
			wg.Add(3)
			go func() {
				defer wg.Done()
				resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", s, "")
				statuses <- resp.StatusCode
			}()
			go func() {
				defer wg.Done()
				resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/?personal_api_key="+url.QueryEscape(s), "", "")
				statuses <- resp.StatusCode
			}()
			go func() {
				defer wg.Done()
				body, _ := json.Marshal(map[string]string{"personal_api_key": s})
				resp, _ := apitest.KeyRequest(t, ts, "POST", "/api/personal_api_keys/", "", string(body))
				statuses <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(statuses)
		for code := range statuses {
			if code != 401 {
				t.Fatalf("malformed key answered %d, want 401", code)
			}
		}
		if runs := ts.ApiKeys.LegacyHashRuns() - before; runs != 0 {
			t.Fatalf("%d malformed strings ran PBKDF2 %d times, want 0", 3*len(malformed), runs)
		}

		// A string of the legacy shape is hashed at each legacy iteration
		// count once; the miss is then remembered, reads and writes alike.
		unknown := apitest.LegacyLaterKey390k.Value
		for i := 0; i < 4; i++ {
			if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", unknown.Reveal(), ""); resp.StatusCode != 401 {
				t.Fatalf("unknown legacy-shaped key: %d", resp.StatusCode)
			}
			if resp, _ := apitest.KeyRequest(t, ts, "POST", "/api/personal_api_keys/", unknown.Reveal(), `{}`); resp.StatusCode != 401 {
				t.Fatalf("unknown legacy-shaped key on a write: %d", resp.StatusCode)
			}
		}
		if runs := ts.ApiKeys.LegacyHashRuns() - before; runs != uint64(len(gatehouse.LegacyKeyIterations)) {
			t.Fatalf("repeated unknown key ran PBKDF2 %d times, want %d", runs, len(gatehouse.LegacyKeyIterations))
		}

		// The same string stored as a key after its miss works at once:
		// storing a key moves the auth generation, which forgets misses.
		storeLegacyKey(t, ts, apitest.LegacyLaterKey390k)
		if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", unknown.Reveal(), ""); resp.StatusCode != 200 {
			t.Fatalf("key stored after a miss: %d %v", resp.StatusCode, body)
		}
		// The imported key authenticates, and is upgraded to sha256$.
		if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", imported.Reveal(), ""); resp.StatusCode != 200 {
			t.Fatalf("imported legacy key: %d %v", resp.StatusCode, body)
		}
		// Keys Gatehouse makes never touch PBKDF2.
		owner := apitest.OwnerBrowser(t, ts)
		fresh := apitest.MustKey(t, owner, "user:read")
		runs := ts.ApiKeys.LegacyHashRuns()
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", fresh, ""); resp.StatusCode != 200 || ts.ApiKeys.LegacyHashRuns() != runs {
			t.Fatalf("new key: %d, PBKDF2 runs %d → %d", resp.StatusCode, runs, ts.ApiKeys.LegacyHashRuns())
		}
	})
}

// The IP allow-list exempts only the credential-free SDK endpoints:
// /flags/definitions and every path that takes a session or a key are
// blocked from outside it, whatever the spelling of the path.
func TestAttackAllowListExemptionNarrow(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{Allowed: "10.0.0.0/8"}) // the test client (127.0.0.1) is outside
		token := url.QueryEscape(ts.Project.APIToken)
		bearer := "Bearer " + ts.Secret.Reveal()
		blocked := []string{
			"/flags/definitions?token=" + token, "/flags/definitions/?token=" + token, "/flags//definitions", "//flags/definitions",
			"/flags/./definitions", "/flags/../flags/definitions", "/flags%2Fdefinitions", "/flags%2fdefinitions",
			"/%66lags/definitions", "/FLAGS/definitions", "/Flags/definitions", "/flags./definitions", "/flags/definitions.",
			"/flags/definitions%2F", "/api/feature_flag/local_evaluation?token=" + token,
			fmt.Sprintf("/api/projects/%d/feature_flags/local_evaluation", ts.Project.ID),
			"/flags/../api/users/@me", "/decide/../api/users/@me", "/e/../api/users/@me", "/static/../api/users/@me",
			"/static/%2e%2e/api/users/@me", "/_health/../api/users/@me", "/api/users/@me", "/login", "/settings",
			"/e/x", "/messaging-preferences/x",
		}
		for _, p := range blocked {
			resp, body := ts.Do(t, "GET", p, nil, "Authorization", bearer)
			if resp.StatusCode != 403 || body != netguard.BlockedMessage {
				t.Errorf("GET %s from outside the allow-list: %d %.80q", p, resp.StatusCode, body)
			}
		}
		flagsBody := fmt.Sprintf(`{"token":%q,"distinct_id":"u"}`, ts.Project.APIToken)
		for _, p := range []string{"/flags", "/flags/?v=2", "/decide/?v=3", "/decide"} {
			if status, out := apitest.PostFlags(t, ts, p, []byte(flagsBody)); status != 200 {
				t.Errorf("SDK evaluation %s: %d %v", p, status, out)
			}
		}
		for _, p := range []string{"/e/", "/i/v0/e/", "/capture/", "/batch/", "/engage/", "/track/"} {
			resp, body := ts.Do(t, "POST", p, strings.NewReader(`{"api_key":"`+ts.Project.APIToken+`","event":"e","distinct_id":"u"}`))
			if resp.StatusCode == 403 && body == netguard.BlockedMessage {
				t.Errorf("capture %s blocked", p)
			}
		}
		for _, p := range []string{"/_health", "/static/gatehouse.css"} {
			if resp, body := ts.Do(t, "GET", p, nil); resp.StatusCode != 200 {
				t.Errorf("%s: %d %.80q", p, resp.StatusCode, body)
			}
		}
	})
}

// A session cookie or a personal API key sent to a path exempt from the
// IP allow-list authenticates nothing there.
func TestAttackExemptPathIgnoresCredentials(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		key := apitest.MustKey(t, owner, "*")
		session := owner.Cookie(httpauth.SessionCookie)
		d := httpauth.Auth{Logger: slog.New(slog.DiscardHandler), APIKeys: ts.ApiKeys,
			Sessions: &gatehouse.AuthService{Store: ts.Store, SessionAge: 90 * 24 * time.Hour}}
		var reached bool
		var seen *httpauth.Caller
		h := httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reached, seen = true, httpauth.CallerFrom(r.Context())
		}))
		credentials := map[string]func(r *http.Request){
			"session cookie": func(r *http.Request) { r.AddCookie(&http.Cookie{Name: httpauth.SessionCookie, Value: session}) },
			"bearer key":     func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) },
			"query key":      func(r *http.Request) { r.URL.RawQuery = "personal_api_key=" + url.QueryEscape(key) },
		}
		for _, p := range []string{"/flags", "/decide", "/e", "/s", "/i/v0/e", "/capture", "/batch", "/engage", "/track", "/_health", "/static/login.js"} {
			for name, add := range credentials {
				req := httptest.NewRequest("GET", p, nil)
				add(req)
				reached, seen = false, nil
				h.ServeHTTP(httptest.NewRecorder(), req)
				if !reached || seen != nil {
					t.Errorf("%s with a %s: reached %v, authenticated %v", p, name, reached, seen != nil)
				}
			}
		}
		// The same session authenticates elsewhere.
		req := httptest.NewRequest("GET", "/api/users/@me", nil)
		credentials["session cookie"](req)
		reached, seen = false, nil
		h.ServeHTTP(httptest.NewRecorder(), req)
		if !reached || seen == nil || seen.User.ID != ts.User.ID {
			t.Fatalf("control: the session does not authenticate a normal path")
		}
	})
}

// 2FA enforcement follows the organization a request touches: a member
// without a second factor who switched to another organization still
// cannot read or change the enforcing organization's flags, secrets or
// settings, and an admin without 2FA cannot change an enforcing
// organization's settings with a key either.
func TestAttackTwoFactorEnforcedPerTargetOrganization(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now, MultiOrg: true})
		b := apitest.OwnerBrowser(t, ts)
		orgA, projectA := ts.User.CurrentOrganizationID, ts.Project.ID
		flag := apitest.CreateFlag(t, b, projectA, `{"key":"guarded","filters":{"groups":[{"rollout_percentage":100}]}}`)
		key := apitest.MustKey(t, b, "*")
		member := apitest.JoinByInvite(t, ts, b, "member@example.com", 1)
		_, me := member.Send("GET", "/api/users/@me/", "", false)
		memberUUID, _ := me["uuid"].(string)
		admin := apitest.JoinByInvite(t, ts, b, "admin@example.com", 8)
		_, me = admin.Send("GET", "/api/users/@me/", "", false)
		adminUUID, _ := me["uuid"].(string)
		orgB, projectB := apitest.SecondOrganization(t, ts, engine)
		apitest.Enforce2FA(t, ts)
		// The owner of A, without 2FA, switches to B (which does not enforce).
		ts.ExecSQL(t, `UPDATE users SET current_organization_id = ?, current_project_id = ? WHERE id = ?`, orgB, projectB.ID, ts.User.ID)

		a := fmt.Sprintf("/api/projects/%d", projectA)
		refused := []struct{ method, path, body string }{
			{"GET", a + "/feature_flags/", ""},
			{"GET", fmt.Sprintf("%s/feature_flags/%v/", a, flag["id"]), ""},
			{"PATCH", fmt.Sprintf("%s/feature_flags/%v/", a, flag["id"]), `{"active":false}`},
			{"GET", fmt.Sprintf("/api/environments/%d/feature_flags/", projectA), ""},
			{"GET", a + "/feature_flags/local_evaluation", ""},
			{"GET", "/api/feature_flag/local_evaluation?token=" + url.QueryEscape(ts.Project.APIToken), ""},
			{"GET", "/flags/definitions?token=" + url.QueryEscape(ts.Project.APIToken), ""},
			{"GET", a + "/", ""},
			{"GET", a + "/project_secret_api_keys/", ""},
			{"POST", a + "/project_secret_api_keys/", `{"label":"x","scopes":["feature_flag:read"]}`},
			{"PATCH", a + "/rotate_secret_token/", ""},
			{"PATCH", a + "/reset_token/", ""},
			{"GET", "/api/organizations/" + orgA + "/", ""},
			{"PATCH", "/api/organizations/" + orgA + "/", `{"enforce_2fa":false}`},
			{"GET", "/api/organizations/" + orgA + "/invites/", ""},
			{"GET", "/api/organizations/" + orgA + "/domains/", ""},
		}
		for _, tc := range refused {
			resp, body := b.Send(tc.method, tc.path, tc.body, true)
			if resp.StatusCode != 403 || body["code"] != "two_factor_setup_required" {
				t.Errorf("%s %s without 2FA: %d %v", tc.method, tc.path, resp.StatusCode, body)
			}
		}
		// An admin of A without 2FA, switched to B, cannot reset the 2FA of
		// A's members: that is an act in A too.
		ts.ExecSQL(t, `INSERT INTO memberships (organization_id, user_id, level, created_at) SELECT ?, id, 1, created_at FROM users WHERE uuid = ?`, orgB, adminUUID)
		ts.ExecSQL(t, `UPDATE users SET current_organization_id = ?, current_project_id = ? WHERE uuid = ?`, orgB, projectB.ID, adminUUID)
		resp, body := admin.Send("POST", "/api/users/"+memberUUID+"/two_factor_reset/", "", true)
		if resp.StatusCode != 403 || body["code"] != "two_factor_setup_required" {
			t.Errorf("admin without 2FA resetting a member of the enforcing organization: %d %v", resp.StatusCode, body)
		}
		var enforced bool
		if err := ts.Store.DB().QueryRow(apitest.Rebind(engine, `SELECT enforce_2fa FROM organizations WHERE id = ?`), orgA).Scan(&enforced); err != nil || !enforced {
			t.Fatalf("enforce_2fa of A after the attempts: %v %v", enforced, err)
		}
		// B's resources, the user's own and the 2FA set-up stay open.
		for _, p := range []string{fmt.Sprintf("/api/projects/%d/feature_flags/", projectB.ID), "/api/organizations/" + orgB + "/",
			"/api/organizations/@current/", "/api/users/@me/", "/api/users/@me/two_factor_status/"} {
			if resp, body := b.Send("GET", p, "", false); resp.StatusCode != 200 {
				t.Errorf("GET %s: %d %v", p, resp.StatusCode, body)
			}
		}

		// Keys are not held to 2FA for reading, but an admin without 2FA
		// cannot change an enforcing organization's settings with one.
		if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/organizations/"+orgA+"/", key, ""); resp.StatusCode != 200 {
			t.Fatalf("key read of A: %d %v", resp.StatusCode, body)
		}
		resp, body = apitest.KeyRequest(t, ts, "PATCH", "/api/organizations/"+orgA+"/", key, `{"enforce_2fa":false}`)
		if resp.StatusCode != 403 || body["code"] != "two_factor_setup_required" {
			t.Fatalf("key PATCH of A by an admin without 2FA: %d %v", resp.StatusCode, body)
		}

		// With a second factor set up (this session is then verified), the
		// admin may change A again.
		apitest.EnableTOTP(t, b, clock.Now())
		if resp, body := b.Send("PATCH", "/api/organizations/"+orgA+"/", `{"name":"Acme 2"}`, true); resp.StatusCode != 200 {
			t.Fatalf("PATCH of A with 2FA: %d %v", resp.StatusCode, body)
		}
		if resp, body := apitest.KeyRequest(t, ts, "PATCH", "/api/organizations/"+orgA+"/", key, `{"name":"Acme 3"}`); resp.StatusCode != 200 {
			t.Fatalf("key PATCH of A with 2FA: %d %v", resp.StatusCode, body)
		}
	})
}
