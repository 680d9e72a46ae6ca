package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var emailChangeLinkRE = regexp.MustCompile(`https?://[^/\s]+(/verify_email/[^\s]+)`)

func TestAccountPage(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		if resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/account", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login?next=/account" {
			t.Fatalf("anonymous account page: %d %v", resp.StatusCode, resp.Header)
		}
		owner := apitest.OwnerBrowser(t, ts)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		_, html := member.Page("GET", "/account", nil)
		for _, link := range []string{"/account/keys", "/settings/two_factor", "/settings/passkeys", `"/settings"`, `action="/account/delete"`} {
			if !strings.Contains(html, link) {
				t.Fatalf("account page lacks %s:\n%s", link, html)
			}
		}

		// Name.
		if status, _ := submitForm(t, member, "/account", "/account/profile", url.Values{"first_name": {"Grace"}, "last_name": {"Hopper"}}); status != 303 {
			t.Fatalf("save name: %d", status)
		}
		if _, html = member.Page("GET", "/account?done=profile", nil); !strings.Contains(html, `value="Hopper"`) || !strings.Contains(html, "Your name was saved.") {
			t.Fatalf("after saving the name:\n%s", html)
		}

		// Email: refusals next to the field; then a link to the new address
		// that changes it.
		for email, want := range map[string]string{"nope": `id="email-error">`, "owner@example.com": `id="email-error">`} {
			status, html := submitForm(t, member, "/account", "/account/email", url.Values{"email": {email}})
			if status != 400 || !strings.Contains(html, want) || !strings.Contains(html, `value="`+email+`"`) {
				t.Fatalf("email %q: %d\n%s", email, status, html)
			}
		}
		if status, _ := submitForm(t, member, "/account", "/account/email", url.Values{"email": {"grace@example.net"}}); status != 303 {
			t.Fatalf("email change: %d", status)
		}
		if _, html = member.Page("GET", "/account?done=email", nil); !strings.Contains(html, "A change to <strong>grace@example.net</strong> waits") {
			t.Fatalf("pending email not shown:\n%s", html)
		}
		sent := apitest.MailsWithSubject(ts, "Confirm your new email address for Gatehouse")
		if len(sent) != 1 || sent[0].To != "grace@example.net" {
			t.Fatalf("confirmation mail: %v", sent)
		}
		link := emailChangeLinkRE.FindStringSubmatch(sent[0].Text)
		if link == nil {
			t.Fatalf("no link in %q", sent[0].Text)
		}
		if status, _ := submitForm(t, apitest.NewBrowser(t, ts), link[1], link[1], nil); status != 303 {
			t.Fatalf("confirming the email: %d", status)
		}
		grace := apitest.NewBrowser(t, ts)
		if resp, _ := grace.Login("grace@example.net", apitest.GoodPassword); resp.StatusCode != 200 {
			t.Fatalf("login with the new email: %d", resp.StatusCode)
		}

		// Password: a wrong current password is shown next to its field.
		status, html := submitForm(t, grace, "/account", "/account/password", url.Values{"current_password": {"wrong"}, "password": {"lighthouse keeper 7 oranges"}})
		if status != 400 || !strings.Contains(html, `id="current_password-error">Your current password is incorrect.`) {
			t.Fatalf("wrong current password: %d\n%s", status, html)
		}
		// Without the CSRF token the forms are refused.
		for _, path := range []string{"/account/profile", "/account/email", "/account/password", "/account/delete"} {
			if resp, _ := grace.Page("POST", path, url.Values{"confirm_email": {"grace@example.net"}}); resp.StatusCode != 403 {
				t.Fatalf("%s without CSRF: %d", path, resp.StatusCode)
			}
		}

		// Deletion: confirmed by typing the email; refused for the only
		// owner of an organization with members; done for the member.
		status, html = submitForm(t, grace, "/account", "/account/delete", url.Values{"confirm_email": {"someone@example.com"}})
		if status != 400 || !strings.Contains(html, `id="confirm_email-error">Type your email address to confirm.`) {
			t.Fatalf("delete without confirmation: %d\n%s", status, html)
		}
		status, html = submitForm(t, owner, "/account", "/account/delete", url.Values{"confirm_email": {"owner@example.com"}})
		if status < 400 || !strings.Contains(html, `id="delete-form-error"`) {
			t.Fatalf("last owner deleting: %d\n%s", status, html)
		}
		status, html = submitForm(t, grace, "/account", "/account/delete", url.Values{"confirm_email": {"Grace@Example.net"}})
		if status != 200 || !strings.Contains(html, "was deleted") {
			t.Fatalf("delete: %d\n%s", status, html)
		}
		if resp, _ := grace.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 401 {
			t.Fatalf("the deleted account's session: %d", resp.StatusCode)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Login("grace@example.net", apitest.GoodPassword); resp.StatusCode == 200 {
			t.Fatal("the deleted account can still log in")
		}
	})
}
