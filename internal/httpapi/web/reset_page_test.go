package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestResetPages(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	b := apitest.NewBrowser(t, ts)

	// Unknown and known emails get the same page.
	_, unknown := b.Submit("/reset", "/reset", map[string]string{"email": "nobody@example.com"})
	resp, known := b.Submit("/reset", "/reset", map[string]string{"email": "owner@example.com"})
	if resp.StatusCode != 200 || !strings.Contains(known, "If an account uses that email") || !strings.Contains(unknown, "If an account uses that email") {
		t.Fatalf("reset request page: %d\n%s", resp.StatusCode, known)
	}
	var link []string
	for _, m := range ts.Mail.Messages() {
		if l := apitest.ResetLinkPattern.FindStringSubmatch(m.Text); l != nil {
			link = l
		}
	}
	if link == nil {
		t.Fatal("no reset link mailed")
	}
	path := "/reset/" + link[1] + "/" + link[2]

	// A broken link says so.
	if resp, html := b.Page("GET", "/reset/"+link[1]+"/"+apitest.FlipLast(link[2]), nil); resp.StatusCode != 400 || !strings.Contains(html, "invalid or has expired") || strings.Contains(html, `name="password"`) {
		t.Fatalf("tampered link page: %d\n%s", resp.StatusCode, html)
	}
	// A weak password is explained next to the field and the link keeps working.
	resp, html := b.Submit(path, path, map[string]string{"password": "password1"})
	if resp.StatusCode != 400 || !strings.Contains(html, `id="password-error"`) || !strings.Contains(html, `action="`+path+`"`) {
		t.Fatalf("weak password: %d\n%s", resp.StatusCode, html)
	}
	resp, _ = b.Submit(path, path, map[string]string{"password": "lighthouse keeper 7 oranges"})
	if resp.StatusCode != 303 || !strings.HasPrefix(resp.Header.Get("Location"), "/login?message=") {
		t.Fatalf("set password: %d %v", resp.StatusCode, resp.Header)
	}
	if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", "lighthouse keeper 7 oranges"); resp.StatusCode != 200 {
		t.Fatal("the new password does not work")
	}
	// The link is spent.
	if resp, _ := b.Page("GET", path, nil); resp.StatusCode != 400 {
		t.Fatalf("used link: %d", resp.StatusCode)
	}
	// Forms need their CSRF token; the token in the path is not logged.
	if resp, _ := b.Page("POST", "/reset", url.Values{"email": {"owner@example.com"}}); resp.StatusCode != 403 {
		t.Fatalf("reset request without CSRF: %d", resp.StatusCode)
	}
	if strings.Contains(ts.Logs.String(), link[2]) {
		t.Fatal("the reset token reached the log")
	}
}
