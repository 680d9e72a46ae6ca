package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var projectTokenRE = regexp.MustCompile(`id="project-token" class="secret-value" type="text" value="([^"]+)"`)

func TestProjectPage(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		if resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/project", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login?next=/project" {
			t.Fatalf("anonymous project page: %d %v", resp.StatusCode, resp.Header)
		}
		owner := apitest.OwnerBrowser(t, ts)
		token := ts.Project.APIToken
		// secretWorks: the key may evaluate the project's flags locally.
		secretWorks := func(key string) bool {
			resp, _ := ts.Do(t, "GET", "/api/feature_flag/local_evaluation?token="+token, nil, "Authorization", "Bearer "+key)
			return resp.StatusCode == 200
		}
		_, html := owner.Page("GET", "/project", nil)
		if m := projectTokenRE.FindStringSubmatch(html); m == nil || m[1] != token || !strings.Contains(html, `action="/project/reset_token"`) {
			t.Fatalf("project page:\n%s", html)
		}

		// Errors next to their fields, all at once.
		status, html := submitForm(t, owner, "/project", "/project/keys", url.Values{"label": {""}})
		if status != 400 || !strings.Contains(html, `id="label-error"`) || !strings.Contains(html, `id="scopes-error"`) {
			t.Fatalf("blank key form: %d\n%s", status, html)
		}
		// Create: the value once, working; listed without it afterwards.
		status, html = submitForm(t, owner, "/project", "/project/keys", url.Values{"label": {"backend"}, "scopes": {"feature_flag:read"}})
		m := newKeyValueRE.FindStringSubmatch(html)
		if status != 200 || m == nil || !strings.HasPrefix(m[1], "phs_") {
			t.Fatalf("create secret key: %d\n%s", status, html)
		}
		value := m[1]
		if !secretWorks(value) {
			t.Fatal("the created secret key does not work")
		}
		// The same label again is refused next to the label.
		status, html = submitForm(t, owner, "/project", "/project/keys", url.Values{"label": {"backend"}, "scopes": {"feature_flag:read"}})
		if status != 400 || !strings.Contains(html, `id="label-error">A secret key with this label already exists`) {
			t.Fatalf("duplicate label: %d\n%s", status, html)
		}
		_, html = owner.Page("GET", "/project", nil)
		rows := keyRowRE.FindAllStringSubmatch(html, -1)
		if strings.Contains(html, value) || len(rows) != 1 || !strings.Contains(html, "feature_flag:read") {
			t.Fatalf("list after create:\n%s", html)
		}
		id := rows[0][1]

		// A member sees the token and keys but no admin control, and a
		// forged post is refused by the service.
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		_, html = member.Page("GET", "/project", nil)
		if !strings.Contains(html, token) || !strings.Contains(html, "backend") ||
			strings.Contains(html, "/project/reset_token") || strings.Contains(html, "/roll") || strings.Contains(html, "/delete") || strings.Contains(html, `action="/project/keys"`) {
			t.Fatalf("member's project page:\n%s", html)
		}
		for _, path := range []string{"/project/reset_token", "/project/keys", "/project/keys/" + id + "/roll", "/project/keys/" + id + "/delete"} {
			status, html := forgedPost(t, member, path, url.Values{"label": {"mine"}, "scopes": {"feature_flag:read"}})
			if status != 403 || !strings.Contains(html, `role="alert"`) {
				t.Fatalf("member posting %s: %d\n%s", path, status, html)
			}
		}
		// Without the CSRF token the owner's forms are refused too.
		for _, path := range []string{"/project/reset_token", "/project/keys/" + id + "/delete"} {
			if resp, _ := owner.Page("POST", path, url.Values{}); resp.StatusCode != 403 {
				t.Fatalf("%s without CSRF: %d", path, resp.StatusCode)
			}
		}
		if !secretWorks(value) {
			t.Fatal("a refused form changed the key")
		}

		// Roll: a new value once; the old one stops working.
		status, html = submitForm(t, owner, "/project", "/project/keys/"+id+"/roll", nil)
		m = newKeyValueRE.FindStringSubmatch(html)
		if status != 200 || m == nil || m[1] == value || secretWorks(value) || !secretWorks(m[1]) {
			t.Fatalf("roll: %d\n%s", status, html)
		}
		// Delete.
		if status, _ = submitForm(t, owner, "/project", "/project/keys/"+id+"/delete", nil); status != 303 {
			t.Fatalf("delete: %d", status)
		}
		if _, html = owner.Page("GET", "/project?done=delete", nil); keyRowRE.MatchString(html) || secretWorks(m[1]) {
			t.Fatalf("after delete:\n%s", html)
		}

		// Token reset: a new token on the page; the old one is gone.
		if status, _ = submitForm(t, owner, "/project", "/project/reset_token", nil); status != 303 {
			t.Fatalf("reset token: %d", status)
		}
		_, html = owner.Page("GET", "/project?done=reset", nil)
		if m := projectTokenRE.FindStringSubmatch(html); m == nil || m[1] == token || !strings.HasPrefix(m[1], "phc_") {
			t.Fatalf("after reset:\n%s", html)
		}
	})
}
