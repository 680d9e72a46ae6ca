package web_test

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestInvitePage(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	owner := apitest.OwnerBrowser(t, ts)
	id := apitest.MustInvite(t, owner, "Ada@Example.com", 1)
	path := "/signup/" + id

	b := apitest.NewBrowser(t, ts)
	resp, html := b.Page("GET", path, nil)
	if resp.StatusCode != 200 || !strings.Contains(html, "Join Acme") || !strings.Contains(html, "Ada@Example.com") {
		t.Fatalf("invite page: %d\n%s", resp.StatusCode, html)
	}
	// A weak password is explained next to its field; the invite still works.
	resp, html = b.Submit(path, path, map[string]string{"first_name": "Ada", "password": "password1"})
	if resp.StatusCode != 400 || !strings.Contains(html, `id="password-error"`) || !strings.Contains(html, `value="Ada"`) {
		t.Fatalf("weak password: %d\n%s", resp.StatusCode, html)
	}
	resp, _ = b.Submit(path, path, map[string]string{"first_name": "Ada", "password": apitest.GoodPassword})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("accept invite: %d %v", resp.StatusCode, resp.Header)
	}
	if _, me := b.Send("GET", "/api/users/@me", "", false); me["email"] != "Ada@Example.com" {
		t.Fatalf("not signed in as the invitee: %v", me)
	}
	// The invite is spent, and a made-up one is refused.
	for _, p := range []string{path, "/signup/00000000-0000-4000-8000-000000000000"} {
		if resp, html := apitest.NewBrowser(t, ts).Page("GET", p, nil); resp.StatusCode != 400 || !strings.Contains(html, "not valid") || strings.Contains(html, `name="password"`) {
			t.Fatalf("%s: %d\n%s", p, resp.StatusCode, html)
		}
	}
	if strings.Contains(ts.Logs.String(), id) {
		t.Fatal("the invite id reached the log")
	}
}

// A signed-in user sees a join button instead of the account form, and
// joining keeps their account and session.
func TestInvitePageSignedIn(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{MultiOrg: true})
	owner := apitest.OwnerBrowser(t, ts)
	grace := apitest.NewBrowser(t, ts)
	if resp, body := grace.Send("POST", "/api/signup", apitest.SignupBody("grace@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
		t.Fatalf("signup: %d %v", resp.StatusCode, body)
	}
	session := grace.Cookie(httpauth.SessionCookie)
	path := "/signup/" + apitest.MustInvite(t, owner, "grace@example.com", 1)
	resp, html := grace.Page("GET", path, nil)
	if resp.StatusCode != 200 || !strings.Contains(html, "signed in as <strong>grace@example.com</strong>") || strings.Contains(html, `name="password"`) {
		t.Fatalf("signed-in invite page: %d\n%s", resp.StatusCode, html)
	}
	resp, _ = grace.Submit(path, path, map[string]string{})
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("join: %d %v", resp.StatusCode, resp.Header)
	}
	_, me := grace.Send("GET", "/api/users/@me", "", false)
	if org, _ := me["organization"].(map[string]any); org["id"] != ts.User.CurrentOrganizationID || grace.Cookie(httpauth.SessionCookie) != session {
		t.Fatalf("after joining: organization %v, session kept %v", me["organization"], grace.Cookie(httpauth.SessionCookie) == session)
	}
	// Someone else's invite shows the reason next to the button.
	other := apitest.MustInvite(t, owner, "ada@example.com", 1)
	resp, html = grace.Submit("/signup/"+other, "/signup/"+other, map[string]string{})
	if resp.StatusCode != 400 || !strings.Contains(html, "intended for another email address") {
		t.Fatalf("wrong recipient: %d\n%s", resp.StatusCode, html)
	}
}
