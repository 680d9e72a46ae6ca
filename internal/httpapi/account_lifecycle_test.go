package httpapi_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

var emailChangeLink = regexp.MustCompile(`/verify_email/([0-9a-f-]{36})/(ec-[0-9a-z]+-[0-9a-f]{64})`)

// requestEmailChange asks for a change to email as b and returns the
// token of the link mailed to that address.
func requestEmailChangeToken(t *testing.T, ts *testServer, b *browser, email string) string {
	t.Helper()
	before := len(ts.mail.messages())
	resp, body := b.send("PATCH", "/api/users/@me/", `{"email":"`+email+`"}`, true)
	if resp.StatusCode != 200 {
		t.Fatalf("email change to %s: %d %v", email, resp.StatusCode, body)
	}
	for _, m := range ts.mail.messages()[before:] {
		if m.To == email {
			if got := emailChangeLink.FindStringSubmatch(m.Text); got != nil {
				return got[2]
			}
		}
	}
	t.Fatalf("no link mailed to %s: %v", email, ts.mail.messages()[before:])
	return ""
}

func confirmEmail(ts *testServer, b *browser, token string) (int, map[string]any) {
	resp, body := b.send("POST", "/api/users/verify_email/", `{"uuid":"`+ts.user.UUID+`","token":"`+token+`"}`, false)
	return resp.StatusCode, body
}

func storedEmail(t *testing.T, ts *testServer) string {
	t.Helper()
	u, err := ts.store.UserByUUID(t.Context(), ts.user.UUID)
	if err != nil {
		t.Fatal(err)
	}
	return u.Email
}

// An email change is stored as pending, mailed as a link to the new
// address with a notice to the old one, and happens only when the link is
// used: once, within 24 hours, for the latest request. Using it ends every
// session; the new address then signs in, the old one does not.
func TestEmailChangeByLink(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := newTestClock()
		ts := newTestServer(t, engine, serverOptions{now: clock.now})
		owner := ownerBrowser(t, ts)
		other := ownerBrowser(t, ts)
		token := requestEmailChangeToken(t, ts, owner, "ada@new.example")
		if got := storedEmail(t, ts); got != "owner@example.com" {
			t.Fatalf("email changed before the link was used: %s", got)
		}
		if pending, _, _ := ts.store.PendingEmail(t.Context(), ts.user.ID); pending != "ada@new.example" {
			t.Fatalf("pending: %q", pending)
		}
		if resp, me := owner.send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 || me["pending_email"] != "ada@new.example" || me["email"] != "owner@example.com" {
			t.Fatalf("@me while the change waits: %d pending_email=%v email=%v", resp.StatusCode, me["pending_email"], me["email"])
		}
		notice := false
		for _, m := range ts.mail.messages() {
			notice = notice || (m.To == "owner@example.com" && strings.Contains(m.Text, "ada@new.example") && !strings.Contains(m.Text, token))
		}
		if !notice {
			t.Fatalf("no notice to the old address: %v", ts.mail.messages())
		}
		anon := newBrowser(t, ts)
		if code, body := confirmEmail(ts, anon, token); code != 200 {
			t.Fatalf("confirming: %d %v", code, body)
		}
		u, _ := ts.store.UserByUUID(t.Context(), ts.user.UUID)
		if u.Email != "ada@new.example" || u.IsEmailVerified == nil || !*u.IsEmailVerified {
			t.Fatalf("after confirmation: %+v", u)
		}
		for _, b := range []*browser{owner, other, anon} {
			if resp, _ := b.send("GET", "/api/users/@me/", "", false); resp.StatusCode != 401 && resp.StatusCode != 403 {
				t.Fatalf("a session survived the email change: %d", resp.StatusCode)
			}
		}
		if code, body := confirmEmail(ts, anon, token); code != 400 || body["code"] != "invalid_token" {
			t.Fatalf("replayed link: %d %v", code, body)
		}
		if resp, _ := newBrowser(t, ts).login("owner@example.com", ownerPassword); resp.StatusCode == 200 {
			t.Fatal("the old address still signs in")
		}
		b := newBrowser(t, ts)
		if resp, body := b.login("ada@new.example", ownerPassword); resp.StatusCode != 200 {
			t.Fatalf("new address login: %d %v", resp.StatusCode, body)
		}

		// A later request voids the earlier link; the later one works.
		first := requestEmailChangeToken(t, ts, b, "first@new.example")
		second := requestEmailChangeToken(t, ts, b, "second@new.example")
		if code, body := confirmEmail(ts, newBrowser(t, ts), first); code != 400 || body["code"] != "invalid_token" {
			t.Fatalf("link of a replaced request: %d %v", code, body)
		}
		// After 24 hours the link is dead.
		clock.add(24*time.Hour + time.Minute)
		if code, body := confirmEmail(ts, newBrowser(t, ts), second); code != 400 || body["code"] != "invalid_token" {
			t.Fatalf("expired link: %d %v", code, body)
		}
		if got := storedEmail(t, ts); got != "ada@new.example" {
			t.Fatalf("refused links changed the email: %s", got)
		}
	})
}

// A link used after the email changed by another link is refused, and an
// address another account took meanwhile is refused with email_taken.
func TestEmailChangeLinkAfterAnotherChange(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := newTestServer(t, engine, serverOptions{})
		owner := ownerBrowser(t, ts)
		token := requestEmailChangeToken(t, ts, owner, "b@new.example")
		// Another account takes the address before the link is used.
		joinByInvite(t, ts, owner, "b@new.example", 1)
		if code, body := confirmEmail(ts, newBrowser(t, ts), token); code != 400 || body["code"] != "email_taken" {
			t.Fatalf("taken meanwhile: %d %v", code, body)
		}
		if got := storedEmail(t, ts); got != "owner@example.com" {
			t.Fatalf("email: %s", got)
		}
	})
}

// Refusals: another account's address, moving onto or off a domain that
// enforces SSO, a key, an old session; none changes anything or mails a
// link.
func TestEmailChangeRefusals(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := newTestServer(t, engine, serverOptions{})
		owner := ownerBrowser(t, ts)
		joinByInvite(t, ts, owner, "member@example.com", 1)
		dev := joinByInvite(t, ts, owner, "dev@acme.example", 1)
		enforceSAML(t, ts, owner)
		key := mustKey(t, owner)
		before := len(ts.mail.messages())
		for _, c := range []struct{ email, code string }{
			{"MEMBER@example.com", "unique"},
			{"someone@acme.example", "sso_enforced_new_email"},
			{"not an address", ""},
		} {
			resp, body := owner.send("PATCH", "/api/users/@me/", `{"email":"`+c.email+`"}`, true)
			if resp.StatusCode != 400 || (c.code != "" && body["code"] != c.code) {
				t.Fatalf("%s: %d %v", c.email, resp.StatusCode, body)
			}
		}
		// Moving off a domain that enforces SSO would escape it.
		if resp, body := dev.send("PATCH", "/api/users/@me/", `{"email":"dev@elsewhere.example"}`, true); resp.StatusCode != 400 || body["code"] != "sso_enforced_current_email" {
			t.Fatalf("off an enforced domain: %d %v", resp.StatusCode, body)
		}
		if resp, _ := keyRequest(t, ts, "PATCH", "/api/users/@me/", key, `{"email":"k@new.example"}`); resp.StatusCode != 403 {
			t.Fatalf("key: %d", resp.StatusCode)
		}
		if _, err := ts.store.DB().ExecContext(t.Context(), rebind(engine, `UPDATE sessions SET created_at = ?`), time.Now().Add(-3*time.Hour).UTC()); err != nil {
			t.Fatal(err)
		}
		resp, body := owner.send("PATCH", "/api/users/@me/", `{"email":"late@new.example"}`, true)
		wantDenied(t, "old session", resp, body, 403, "This action requires you to be recently authenticated.")
		if pending, _, _ := ts.store.PendingEmail(t.Context(), ts.user.ID); pending != "" || len(ts.mail.messages()) != before {
			t.Fatalf("refusals left %q pending or mailed %v", pending, ts.mail.messages()[before:])
		}
	})
}

// The mailed link's page confirms the change with a click and sends the
// browser to sign in, signed in as nobody.
func TestEmailChangeLinkPage(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := newTestServer(t, engine, serverOptions{})
		owner := ownerBrowser(t, ts)
		token := requestEmailChangeToken(t, ts, owner, "page@new.example")
		path := "/verify_email/" + ts.user.UUID + "/" + token
		b := newBrowser(t, ts)
		resp, _ := b.submit(path, path, nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("confirming by page: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if got := storedEmail(t, ts); got != "page@new.example" {
			t.Fatalf("email: %s", got)
		}
		if resp, _ := b.send("GET", "/api/users/@me/", "", false); resp.StatusCode == 200 {
			t.Fatal("the link signed the browser in")
		}
	})
}
