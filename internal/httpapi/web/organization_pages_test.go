package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var inviteRowRE = regexp.MustCompile(`<tr id="invite-([^"]+)">`)

func TestOrganizationPage(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		if resp, _ := apitest.NewBrowser(t, ts).Page("GET", "/organization", nil); resp.StatusCode != 302 || resp.Header.Get("Location") != "/login?next=/organization" {
			t.Fatalf("anonymous organization page: %d %v", resp.StatusCode, resp.Header)
		}
		owner := apitest.OwnerBrowser(t, ts)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		apitest.EnableTOTP(t, member, time.Now())
		uuids := apitest.MemberUUIDs(t, owner)
		memberID, ownerID := uuids["member@example.com"], uuids["owner@example.com"]

		// The owner sees both members, controls for the other one only.
		_, html := owner.Page("GET", "/organization", nil)
		for _, want := range []string{"member@example.com", "owner@example.com", "(you)", `action="/organization/members/` + memberID + `/level"`,
			`action="/organization/members/` + memberID + `/reset_2fa"`, `action="/organization/invites"`, `action="/organization/security"`, `href="/settings/domains"`} {
			if !strings.Contains(html, want) {
				t.Fatalf("owner's page lacks %q:\n%s", want, html)
			}
		}
		if strings.Contains(html, "/organization/members/"+ownerID+"/") {
			t.Fatal("the owner is offered controls over themself")
		}

		// A member sees the members but no admin control, and forged posts
		// are refused by the services.
		_, html = member.Page("GET", "/organization", nil)
		if !strings.Contains(html, "owner@example.com") || strings.Contains(html, `method="post" action="/organization`) {
			t.Fatalf("member's page:\n%s", html)
		}
		forged := map[string]url.Values{
			"/organization/members/" + ownerID + "/level":     {"level": {"1"}},
			"/organization/members/" + ownerID + "/remove":    nil,
			"/organization/members/" + ownerID + "/reset_2fa": nil,
			"/organization/invites":                           {"target_email": {"friend@example.com"}, "level": {"1"}},
			"/organization/security":                          {"name": {"Mine"}, "members_can_use_personal_api_keys": {"on"}},
		}
		for path, form := range forged {
			if status, html := forgedPost(t, member, path, form); status != 403 && status != 404 || !strings.Contains(html, `role="alert"`) {
				t.Fatalf("member posting %s: %d\n%s", path, status, html)
			}
		}
		// Without the CSRF token the owner's forms are refused.
		if resp, _ := owner.Page("POST", "/organization/members/"+memberID+"/remove", url.Values{}); resp.StatusCode != 403 {
			t.Fatalf("remove without CSRF: %d", resp.StatusCode)
		}
		if uuids := apitest.MemberUUIDs(t, owner); len(uuids) != 2 {
			t.Fatalf("a refused form changed the members: %v", uuids)
		}

		// Invites: errors next to the email, then one sent, listed with its
		// link, revoked.
		for email, want := range map[string]string{"not an email": `id="target_email-error">`, "member@example.com": `id="target_email-error">A user with this email address already belongs`} {
			status, html := submitForm(t, owner, "/organization", "/organization/invites", url.Values{"target_email": {email}, "level": {"1"}})
			if status != 400 || !strings.Contains(html, want) || !strings.Contains(html, `value="`+email+`"`) {
				t.Fatalf("invite %q: %d\n%s", email, status, html)
			}
		}
		if status, _ := submitForm(t, owner, "/organization", "/organization/invites", url.Values{"target_email": {"friend@example.com"}, "level": {"8"}}); status != 303 {
			t.Fatalf("invite: %d", status)
		}
		_, html = owner.Page("GET", "/organization?done=invite", nil)
		rows := inviteRowRE.FindAllStringSubmatch(html, -1)
		if len(rows) != 1 || !strings.Contains(html, "friend@example.com") || !strings.Contains(html, "/signup/"+rows[0][1]+`"`) {
			t.Fatalf("pending invites:\n%s", html)
		}
		if sent := apitest.MailsWithSubject(ts, "owner@example.com invited you to Acme on Gatehouse"); len(sent) != 2 || sent[1].To != "friend@example.com" ||
			!strings.Contains(sent[1].Text, "/signup/"+rows[0][1]) {
			t.Fatalf("invite mail: %v", sent)
		}
		if status, _ := submitForm(t, owner, "/organization", "/organization/invites/"+rows[0][1]+"/revoke", nil); status != 303 {
			t.Fatalf("revoke: %d", status)
		}
		if _, html = owner.Page("GET", "/organization", nil); inviteRowRE.MatchString(html) {
			t.Fatal("the revoked invite is still listed")
		}
		if resp, _ := owner.Send("GET", "/api/signup/"+rows[0][1]+"/", "", false); resp.StatusCode == 200 {
			t.Fatal("the revoked invite still works")
		}

		// Security settings: a bad session length next to its field, then saved.
		status, html := submitForm(t, owner, "/organization", "/organization/security", url.Values{"name": {"Acme"}, "session_cookie_age": {"30"}})
		if status != 400 || !strings.Contains(html, `id="session_cookie_age-error">Session cookie age must be between`) {
			t.Fatalf("bad session age: %d\n%s", status, html)
		}
		if status, _ := submitForm(t, owner, "/organization", "/organization/security", url.Values{"name": {"Acme Inc"}, "session_cookie_age": {"3600"},
			"members_can_use_personal_api_keys": {"on"}}); status != 303 {
			t.Fatalf("save security: %d", status)
		}
		resp, org := owner.Send("GET", "/api/organizations/@current/", "", false)
		if resp.StatusCode != 200 || org["name"] != "Acme Inc" || org["session_cookie_age"] != float64(3600) || org["enforce_2fa"] != false ||
			org["members_can_use_personal_api_keys"] != true {
			t.Fatalf("organization after save: %v", org)
		}

		// 2FA reset, level change and removal, each what the API does.
		if status, _ := submitForm(t, owner, "/organization", "/organization/members/"+memberID+"/reset_2fa", nil); status != 303 {
			t.Fatalf("reset 2FA: %d", status)
		}
		if resp, body := member.Send("GET", "/api/users/@me/two_factor_status/", "", false); resp.StatusCode != 200 || body["is_enabled"] != false {
			t.Fatalf("member's 2FA after reset: %d %v", resp.StatusCode, body)
		}
		if status, _ := submitForm(t, owner, "/organization", "/organization/members/"+memberID+"/level", url.Values{"level": {"8"}}); status != 303 {
			t.Fatalf("level: %d", status)
		}
		if _, html = owner.Page("GET", "/organization", nil); !regexp.MustCompile(`member@example.com</td>\s*<td data-label="Level">admin</td>`).MatchString(html) {
			t.Fatalf("level not shown as admin:\n%s", html)
		}
		if status, _ := submitForm(t, owner, "/organization", "/organization/members/"+memberID+"/remove", nil); status != 303 {
			t.Fatalf("remove: %d", status)
		}
		if uuids := apitest.MemberUUIDs(t, owner); len(uuids) != 1 {
			t.Fatalf("members after removal: %v", uuids)
		}
		// The last owner cannot demote themself: the service's refusal is shown.
		if status, html := forgedPost(t, owner, "/organization/members/"+ownerID+"/level", url.Values{"level": {"1"}}); status < 400 || !strings.Contains(html, `role="alert"`) {
			t.Fatalf("owner demoting themself: %d\n%s", status, html)
		}
	})
}
