package web_test

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// submitForm loads the page at formPath and posts form to postPath with the
// page's CSRF token, as a browser does (several values per field allowed).
func submitForm(t *testing.T, b *apitest.Browser, formPath, postPath string, form url.Values) (int, string) {
	t.Helper()
	resp, html := b.Page("GET", formPath, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", formPath, resp.StatusCode)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set(httpauth.CSRFFormField, apitest.FormToken(t, html))
	resp, html = b.Page("POST", postPath, form)
	return resp.StatusCode, html
}

// forgedPost posts form to path with b's session CSRF token, as a person
// would who builds the form the page does not offer them.
func forgedPost(t *testing.T, b *apitest.Browser, path string, form url.Values) (int, string) {
	t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(httpauth.CSRFFormField, b.Cookie("posthog_csrftoken"))
	resp, html := b.Page("POST", path, form)
	return resp.StatusCode, html
}

var (
	newKeyValueRE = regexp.MustCompile(`id="new-key-value" class="secret-value" type="text" value="([^"]+)"`)
	keyRowRE      = regexp.MustCompile(`<tr id="key-([^"]+)">`)
)

func TestAccountKeysPage(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		if resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/account/keys", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login?next=/account/keys" {
			t.Fatalf("anonymous keys page: %d %v", resp.StatusCode, resp.Header)
		}
		owner := apitest.OwnerBrowser(t, ts)
		keyWorks := func(key string) bool {
			resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", key, "")
			return resp.StatusCode == 200
		}

		// Every field's error at once, next to its field; nothing is made.
		status, html := submitForm(t, owner, "/account/keys", "/account/keys", url.Values{"label": {" "}})
		if status != 400 || !strings.Contains(html, `id="label-error"`) || !strings.Contains(html, `id="scopes-error">Choose at least one scope.`) {
			t.Fatalf("blank form: %d\n%s", status, html)
		}
		// The service's own refusal lands next to its field, the choices kept.
		status, html = submitForm(t, owner, "/account/keys", "/account/keys", url.Values{"label": {"ci"}, "scopes": {"project:read"},
			"scoped_teams": {"999999"}})
		if status != 400 || !strings.Contains(html, `id="scoped_teams-error">You must be a member of all teams`) ||
			!strings.Contains(html, `value="project:read" checked`) || !strings.Contains(html, `value="ci"`) {
			t.Fatalf("foreign project: %d\n%s", status, html)
		}

		// Created: the value is shown once, works with its scopes, and is listed.
		status, html = submitForm(t, owner, "/account/keys", "/account/keys", url.Values{"label": {"deploy bot"},
			"scopes": {"user:read", "project:read"}, "scoped_teams": {strconv.FormatInt(ts.Project.ID, 10)}})
		m := newKeyValueRE.FindStringSubmatch(html)
		if status != 200 || m == nil || !strings.HasPrefix(m[1], "phx_") {
			t.Fatalf("create: %d\n%s", status, html)
		}
		value := m[1]
		if !keyWorks(value) {
			t.Fatal("the created key does not work")
		}
		// The pages are for people: a key cannot read or use them.
		for _, path := range []string{"/account/keys", "/organization", "/project"} {
			if resp, body := ts.Do(t, "GET", path, nil, "Authorization", "Bearer "+value); resp.StatusCode != 403 {
				t.Fatalf("GET %s with a personal API key: %d %s", path, resp.StatusCode, body)
			}
		}
		if resp, _ := apitest.KeyRequest(t, ts, "PATCH", "/api/users/@me/", value, `{"first_name":"Eve"}`); resp.StatusCode != 403 {
			t.Fatalf("a read-only key wrote: %d", resp.StatusCode)
		}
		_, html = owner.Page("GET", "/account/keys", nil)
		if strings.Contains(html, value) || !strings.Contains(html, "deploy bot") || !strings.Contains(html, "user:read, project:read") ||
			!strings.Contains(html, "project "+ts.Project.Name) {
			t.Fatalf("list after create (the value must not be shown again):\n%s", html)
		}
		rows := keyRowRE.FindAllStringSubmatch(html, -1)
		if len(rows) != 1 {
			t.Fatalf("keys listed: %v", rows)
		}
		id := rows[0][1]

		// Another user cannot roll or delete it with a forged form.
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		for _, action := range []string{"roll", "delete"} {
			if status, _ := submitForm(t, member, "/account/keys", "/account/keys/"+id+"/"+action, nil); status != 404 {
				t.Fatalf("another user's %s: %d", action, status)
			}
		}
		// Without the CSRF token the forms are refused.
		for _, path := range []string{"/account/keys", "/account/keys/" + id + "/roll", "/account/keys/" + id + "/delete"} {
			if resp, _ := owner.Page("POST", path, url.Values{"label": {"x"}, "scopes": {"*"}}); resp.StatusCode != 403 {
				t.Fatalf("%s without CSRF: %d", path, resp.StatusCode)
			}
		}
		if !keyWorks(value) {
			t.Fatal("a refused form changed the key")
		}

		// Roll: a new value, shown once; the old one stops working.
		status, html = submitForm(t, owner, "/account/keys", "/account/keys/"+id+"/roll", nil)
		m = newKeyValueRE.FindStringSubmatch(html)
		if status != 200 || m == nil || m[1] == value || !strings.Contains(html, "The previous value no longer works.") {
			t.Fatalf("roll: %d\n%s", status, html)
		}
		if keyWorks(value) || !keyWorks(m[1]) {
			t.Fatal("after a roll the old value works or the new one does not")
		}
		if _, html = owner.Page("GET", "/account/keys", nil); strings.Contains(html, m[1]) {
			t.Fatal("the rolled value is shown again")
		}

		// Delete: gone from the list, and the key stops working.
		status, html = submitForm(t, owner, "/account/keys", "/account/keys/"+id+"/delete", nil)
		if status != 303 {
			t.Fatalf("delete: %d\n%s", status, html)
		}
		_, html = owner.Page("GET", "/account/keys?done=delete", nil)
		if strings.Contains(html, "deploy bot") || !strings.Contains(html, "The key was deleted.") || keyWorks(m[1]) {
			t.Fatalf("after delete:\n%s", html)
		}

		// A session signed in long ago must sign in again to make a key, as
		// with the API: the service's words above the create form.
		if _, err := ts.Store.DB().ExecContext(t.Context(), apitest.Rebind(engine, `UPDATE sessions SET created_at = ?`), time.Now().Add(-3*time.Hour).UTC()); err != nil {
			t.Fatal(err)
		}
		status, html = submitForm(t, owner, "/account/keys", "/account/keys", url.Values{"label": {"late"}, "scopes": {"user:read"}})
		if status != 403 || !strings.Contains(html, `id="create-error">`) || !strings.Contains(html, `value="late"`) || keyRowRE.MatchString(html) {
			t.Fatalf("create with an old sign-in: %d\n%s", status, html)
		}
	})
}
