package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestInvitesCreateListDelete(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		orgID := ts.User.CurrentOrganizationID

		resp, inv := apitest.Invite(t, owner, "@current", "Ada@Example.com", 0)
		if resp.StatusCode != 201 || inv["target_email"] != "Ada@Example.com" || inv["level"] != float64(1) || inv["is_expired"] != false ||
			inv["organization_id"] != orgID || inv["first_name"] != "Ada" {
			t.Fatalf("create: %d %v", resp.StatusCode, inv)
		}
		if by, _ := inv["created_by"].(map[string]any); by["uuid"] != ts.User.UUID || by["email"] != "owner@example.com" {
			t.Fatalf("created_by: %v", inv["created_by"])
		}
		first := inv["id"].(string)
		if len(first) != 36 || first[14] != '4' {
			t.Fatalf("invite id is not a random (v4) UUID: %q", first)
		}
		// The organization's id works in place of @current.
		resp, second := apitest.Invite(t, owner, orgID, "grace@example.com", 8)
		if resp.StatusCode != 201 || second["level"] != float64(8) {
			t.Fatalf("create by org id: %d %v", resp.StatusCode, second)
		}
		// A new invite to the same email (any case) replaces the pending one.
		replaced := apitest.MustInvite(t, owner, "ada@example.com", 0)

		getList := func() []map[string]any {
			t.Helper()
			req, _ := http.NewRequest("GET", ts.URL+"/api/organizations/@current/invites/", nil)
			r, err := owner.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Body.Close()
			var page struct {
				Count   int              `json:"count"`
				Results []map[string]any `json:"results"`
			}
			if r.StatusCode != 200 || json.NewDecoder(r.Body).Decode(&page) != nil || page.Count != len(page.Results) {
				t.Fatalf("list: %d", r.StatusCode)
			}
			return page.Results
		}
		list := getList()
		if len(list) != 2 || list[0]["id"] != replaced || list[1]["id"] != second["id"] {
			t.Fatalf("pending invites, newest first: %v", list)
		}
		if resp, body := apitest.NewBrowser(t, ts).Send("GET", "/api/signup/"+first, "", false); resp.StatusCode != 400 {
			t.Fatalf("replaced invite still valid: %d %v", resp.StatusCode, body)
		}

		if resp, body := owner.Send("DELETE", "/api/organizations/@current/invites/"+replaced+"/", "", true); resp.StatusCode != 204 {
			t.Fatalf("delete: %d %v", resp.StatusCode, body)
		}
		if resp, _ := owner.Send("DELETE", "/api/organizations/@current/invites/"+replaced+"/", "", true); resp.StatusCode != 404 {
			t.Fatalf("delete twice: %d", resp.StatusCode)
		}
		if list = getList(); len(list) != 1 {
			t.Fatalf("after delete: %v", list)
		}
		// Unsafe requests need the CSRF token.
		if resp, body := owner.Send("DELETE", "/api/organizations/@current/invites/"+second["id"].(string), "", false); resp.StatusCode != 403 || body["code"] != "csrf_failed" {
			t.Fatalf("delete without CSRF: %d %v", resp.StatusCode, body)
		}
		// Anonymous requests are refused.
		if resp, _ := apitest.NewBrowser(t, ts).Send("GET", "/api/organizations/@current/invites", "", false); resp.StatusCode != 401 {
			t.Fatalf("anonymous list: %d", resp.StatusCode)
		}
	})
}

func TestInvitesValidation(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	owner := apitest.OwnerBrowser(t, ts)
	for _, tc := range []struct {
		name, email string
		level       int
		code, attr  string
	}{
		{"bad email", "not-an-email", 0, "invalid_input", "target_email"},
		{"already a member", "OWNER@example.com", 0, "invalid_input", "target_email"},
		{"owner level", "x@example.com", 15, "invalid_choice", "level"},
		{"unknown level", "x@example.com", 3, "invalid_choice", "level"},
	} {
		resp, body := apitest.Invite(t, owner, "@current", tc.email, tc.level)
		if resp.StatusCode != 400 || body["code"] != tc.code || body["attr"] != tc.attr {
			t.Errorf("%s: %d %v", tc.name, resp.StatusCode, body)
		}
	}
	_, body := apitest.Invite(t, owner, "@current", "owner@example.com", 0)
	if body["detail"] != "A user with this email address already belongs to the organization." {
		t.Errorf("member detail: %v", body)
	}
}

func TestInvitesPermissions(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		admin := apitest.JoinByInvite(t, ts, owner, "admin@example.com", 8)

		resp, body := apitest.Invite(t, member, "@current", "x@example.com", 0)
		if resp.StatusCode != 403 || body["type"] != "authentication_error" || body["code"] != "permission_denied" ||
			body["detail"] != "You do not have admin access to this resource." {
			t.Fatalf("member creates: %d %v", resp.StatusCode, body)
		}
		if resp, _ := member.Send("GET", "/api/organizations/@current/invites", "", false); resp.StatusCode != 403 {
			t.Fatalf("member lists: %d", resp.StatusCode)
		}
		// An admin invites members but not admins (only owners do).
		if resp, body := apitest.Invite(t, admin, "@current", "y@example.com", 0); resp.StatusCode != 201 {
			t.Fatalf("admin invites a member: %d %v", resp.StatusCode, body)
		}
		if resp, body := apitest.Invite(t, admin, "@current", "z@example.com", 8); resp.StatusCode != 403 || body["code"] != "permission_denied" {
			t.Fatalf("admin invites an admin: %d %v", resp.StatusCode, body)
		}

		// Another organization: its owner cannot see or touch ours.
		other := apitest.NewBrowser(t, ts)
		if resp, body := other.Send("POST", "/api/signup/", apitest.SignupBody("other@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
			t.Fatalf("second organization: %d %v", resp.StatusCode, body)
		}
		orgID := ts.User.CurrentOrganizationID
		if resp, _ := apitest.Invite(t, other, orgID, "x@example.com", 0); resp.StatusCode != 404 {
			t.Fatalf("non-member creates by org id: %d", resp.StatusCode)
		}
		if resp, _ := other.Send("GET", "/api/organizations/"+orgID+"/invites", "", false); resp.StatusCode != 404 {
			t.Fatalf("non-member lists by org id: %d", resp.StatusCode)
		}
		ours := apitest.MustInvite(t, owner, "q@example.com", 0)
		if resp, _ := other.Send("DELETE", "/api/organizations/@current/invites/"+ours, "", true); resp.StatusCode != 404 {
			t.Fatalf("deleting another organization's invite: %d", resp.StatusCode)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Send("GET", "/api/signup/"+ours, "", false); resp.StatusCode != 200 {
			t.Fatalf("invite gone after a foreign delete: %d", resp.StatusCode)
		}
	})
}

func TestInviteSignup(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		id := apitest.MustInvite(t, owner, "Ada@Example.com", 8)

		b := apitest.NewBrowser(t, ts)
		resp, info := b.Send("GET", "/api/signup/"+id+"/", "", false)
		if resp.StatusCode != 200 || info["id"] != id || info["target_email"] != "Ada@Example.com" || info["first_name"] != "Ada" || info["organization_name"] != "Acme" {
			t.Fatalf("invite info: %d %v", resp.StatusCode, info)
		}
		// A weak password is refused and leaves the invite usable.
		resp, body := b.Send("POST", "/api/signup/"+id+"/", apitest.InviteSignupBody("Ada", "password123"), false)
		if resp.StatusCode != 400 || body["attr"] != "password" {
			t.Fatalf("weak password: %d %v", resp.StatusCode, body)
		}
		if resp, body := b.Send("POST", "/api/signup/"+id, `{"password":"`+apitest.GoodPassword+`"}`, false); resp.StatusCode != 400 || body["attr"] != "first_name" {
			t.Fatalf("no first name: %d %v", resp.StatusCode, body)
		}
		resp, body = b.Send("POST", "/api/signup/"+id+"/", apitest.InviteSignupBody("Ada", apitest.GoodPassword), false)
		if resp.StatusCode != 201 || body["email"] != "Ada@Example.com" || body["first_name"] != "Ada" {
			t.Fatalf("invite signup: %d %v", resp.StatusCode, body)
		}
		if org, _ := body["organization"].(map[string]any); org["id"] != ts.User.CurrentOrganizationID {
			t.Fatalf("signup organization: %v", body)
		}
		// Signed in, but the email is not verified by accepting the invite.
		resp, me := b.Send("GET", "/api/users/@me", "", false)
		if resp.StatusCode != 200 || me["email"] != "Ada@Example.com" || me["is_staff"] != false || me["is_email_verified"] != false {
			t.Fatalf("signed in after invite signup: %d %v", resp.StatusCode, me)
		}
		org, _ := me["organization"].(map[string]any)
		team, _ := me["team"].(map[string]any)
		if org["id"] != ts.User.CurrentOrganizationID || org["membership_level"] != float64(8) || team["id"] != float64(ts.Project.ID) {
			t.Fatalf("@me after invite signup: %v", me)
		}
		// The invite is used up.
		for _, method := range []string{"GET", "POST"} {
			resp, body := apitest.NewBrowser(t, ts).Send(method, "/api/signup/"+id+"/", apitest.InviteSignupBody("Eve", apitest.GoodPassword), false)
			if resp.StatusCode != 400 || body["code"] != "invalid_input" || body["detail"] != "The provided invite ID is not valid." || body["attr"] != nil {
				t.Fatalf("%s used invite: %d %v", method, resp.StatusCode, body)
			}
		}
		if resp, _ := apitest.NewBrowser(t, ts).Send("GET", "/api/signup/00000000-0000-4000-8000-000000000000", "", false); resp.StatusCode != 400 {
			t.Fatalf("unknown invite: %d", resp.StatusCode)
		}
		// The new user can sign in with the password.
		if resp, _ := apitest.NewBrowser(t, ts).Login("ada@example.com", apitest.GoodPassword); resp.StatusCode != 200 {
			t.Fatalf("login as the invitee: %d", resp.StatusCode)
		}
	})
}

func TestInviteSignupOnce(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		id := apitest.MustInvite(t, apitest.OwnerBrowser(t, ts), "race@example.com", 0)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created int
		)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(ts.URL+"/api/signup/"+id+"/", "application/json", strings.NewReader(apitest.InviteSignupBody("Racer", apitest.GoodPassword)))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				switch resp.StatusCode {
				case 201:
					mu.Lock()
					created++
					mu.Unlock()
				case 400:
				default:
					t.Errorf("status %d", resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		if created != 1 {
			t.Fatalf("%d signups succeeded with one invite", created)
		}
	})
}

func TestInviteSignupRefusals(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)

		// Expired.
		id := apitest.MustInvite(t, owner, "late@example.com", 0)
		if _, err := ts.Store.DB().Exec(`UPDATE invites SET expires_at = 0`); err != nil {
			t.Fatal(err)
		}
		for _, method := range []string{"GET", "POST"} {
			if resp, body := apitest.NewBrowser(t, ts).Send(method, "/api/signup/"+id, apitest.InviteSignupBody("Late", apitest.GoodPassword), false); resp.StatusCode != 400 || body["code"] != "invalid_input" {
				t.Fatalf("%s expired invite: %d %v", method, resp.StatusCode, body)
			}
		}
		if resp, _ := owner.Send("GET", "/api/organizations/@current/invites", "", false); resp.StatusCode != 200 {
			t.Fatalf("list: %d", resp.StatusCode)
		}

		// The email already has an account (in another organization).
		if resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody("Taken@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
			t.Fatalf("signup: %d %v", resp.StatusCode, body)
		}
		id = apitest.MustInvite(t, owner, "taken@example.com", 0)
		resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup/"+id, apitest.InviteSignupBody("T", apitest.GoodPassword), false)
		if resp.StatusCode != 400 || body["code"] != "unique" || body["attr"] != "email" {
			t.Fatalf("existing account: %d %v", resp.StatusCode, body)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Send("GET", "/api/signup/"+id, "", false); resp.StatusCode != 200 {
			t.Fatalf("a refused signup used the invite: %d", resp.StatusCode)
		}
	})
}

func TestInviteSignupThrottled(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{SignupRate: "2/day"})
	owner := apitest.OwnerBrowser(t, ts)
	// Refused attempts (a weak password) are not counted.
	id := apitest.MustInvite(t, owner, "t0@example.com", 0)
	for i := 0; i < 3; i++ {
		if resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/signup/"+id, apitest.InviteSignupBody("T", "x"), false); resp.StatusCode != 400 {
			t.Fatalf("weak password %d: %d", i, resp.StatusCode)
		}
	}
	for i := 0; i < 3; i++ {
		if i > 0 {
			id = apitest.MustInvite(t, owner, fmt.Sprintf("t%d@example.com", i), 0)
		}
		resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/signup/"+id, apitest.InviteSignupBody("T", apitest.GoodPassword), false)
		if want := map[bool]int{true: 201, false: 429}[i < 2]; resp.StatusCode != want {
			t.Fatalf("invite signup %d from one address: %d, want %d", i, resp.StatusCode, want)
		}
	}
}

func TestInviteMailAndLogs(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	owner := apitest.OwnerBrowser(t, ts)
	id := apitest.MustInvite(t, owner, "mail@example.com", 0)
	var msgs []mail.Message
	for _, m := range ts.Mail.Messages() {
		if m.To == "mail@example.com" {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) != 1 {
		t.Fatalf("queued %d invite emails: %v", len(msgs), ts.Mail.Messages())
	}
	m := msgs[0]
	if m.To != "mail@example.com" || m.Subject != "owner@example.com invited you to Acme on Gatehouse" ||
		!strings.Contains(m.Text, "https://gatehouse.example.com/signup/"+id) {
		t.Fatalf("invite email: %+v", m)
	}
	b := apitest.NewBrowser(t, ts)
	b.Send("GET", "/signup/"+id, "", false)
	b.Send("GET", "/api/signup/"+id+"/", "", false)
	b.Send("POST", "/api/signup/"+id+"/", apitest.InviteSignupBody("Mail", apitest.GoodPassword), false)
	b.Send("GET", "/api/signup/"+id, "", false)
	logs := ts.Logs.String()
	if strings.Contains(logs, id) {
		t.Fatalf("log contains the invite id:\n%s", logs)
	}
	if !strings.Contains(logs, `/api/signup/[REDACTED]`) {
		t.Fatalf("invite signup requests not logged:\n%s", logs)
	}
	// The plain signup path is logged as is.
	apitest.NewBrowser(t, ts).Send("POST", "/api/signup", "{", false)
	if !strings.Contains(ts.Logs.String(), `"/api/signup"`) {
		t.Fatalf("plain signup path not logged as is:\n%s", ts.Logs.String())
	}
}

// A signed-in user accepts an invite with their existing account: no name
// or password, the invite must be theirs, CSRF applies, it works once,
// and they land in the inviting organization.
func TestExistingUserJoinsByInvite(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{MultiOrg: true})
		owner := apitest.OwnerBrowser(t, ts)
		orgID := ts.User.CurrentOrganizationID

		grace := apitest.NewBrowser(t, ts)
		if resp, body := grace.Send("POST", "/api/signup", apitest.SignupBody("grace@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
			t.Fatalf("signup: %d %v", resp.StatusCode, body)
		}
		other := apitest.NewBrowser(t, ts)
		if resp, body := other.Send("POST", "/api/signup", apitest.SignupBody("alan@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
			t.Fatalf("signup: %d %v", resp.StatusCode, body)
		}
		id := apitest.MustInvite(t, owner, "Grace@Example.com", 8)

		// Someone else's account cannot take Grace's invite.
		resp, body := other.Send("POST", "/api/signup/"+id+"/", `{}`, true)
		if resp.StatusCode != 400 || body["code"] != "invalid_recipient" {
			t.Fatalf("wrong recipient: %d %v", resp.StatusCode, body)
		}
		// Without the CSRF token a signed-in browser is refused.
		if resp, body := grace.Send("POST", "/api/signup/"+id+"/", `{}`, false); resp.StatusCode != 403 {
			t.Fatalf("no CSRF: %d %v", resp.StatusCode, body)
		}

		// Two tabs accept at once: exactly one joins.
		var wg sync.WaitGroup
		codes := make([]int, 2)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := grace.Send("POST", "/api/signup/"+id+"/", `{}`, true)
				codes[i] = resp.StatusCode
			}()
		}
		wg.Wait()
		if !((codes[0] == 201 && codes[1] == 400) || (codes[0] == 400 && codes[1] == 201)) {
			t.Fatalf("concurrent joins: %v, want one 201 and one 400", codes)
		}
		resp, me := grace.Send("GET", "/api/users/@me", "", false)
		org, _ := me["organization"].(map[string]any)
		if resp.StatusCode != 200 || org["id"] != orgID {
			t.Fatalf("after joining, current organization = %v, want %s", me["organization"], orgID)
		}
		if orgs, _ := me["organizations"].([]any); len(orgs) != 2 {
			t.Fatalf("grace should belong to two organizations: %v", me["organizations"])
		}
		u, err := ts.Store.UserByEmail(context.Background(), "grace@example.com")
		if err != nil {
			t.Fatal(err)
		}
		ms, err := ts.Store.MembershipsOfUser(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		level := 0
		for _, m := range ms {
			if m.OrganizationID == orgID {
				level = int(m.Level)
			}
		}
		if level != 8 {
			t.Fatalf("membership level in the inviting organization = %d, want 8", level)
		}
		// Someone who became a member after the invite was sent (here by
		// a direct insert) gets a clear error, not a second membership.
		id2 := apitest.MustInvite(t, owner, "alan@example.com", 1)
		alan, err := ts.Store.UserByEmail(context.Background(), "alan@example.com")
		if err != nil {
			t.Fatal(err)
		}
		ts.ExecSQL(t, `INSERT INTO memberships (organization_id, user_id, level, created_at) VALUES (?, ?, 1, CURRENT_TIMESTAMP)`, orgID, alan.ID)
		if resp, body := other.Send("POST", "/api/signup/"+id2+"/", `{}`, true); resp.StatusCode != 400 || body["code"] != "user_already_member" {
			t.Fatalf("already a member: %d %v", resp.StatusCode, body)
		}
	})
}
