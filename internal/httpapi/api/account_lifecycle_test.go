package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func storedEmail(t *testing.T, ts *apitest.Server) string {
	t.Helper()
	u, err := ts.Store.UserByUUID(t.Context(), ts.User.UUID)
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
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		owner := apitest.OwnerBrowser(t, ts)
		other := apitest.OwnerBrowser(t, ts)
		token := apitest.RequestEmailChangeToken(t, ts, owner, "ada@new.example")
		if got := storedEmail(t, ts); got != "owner@example.com" {
			t.Fatalf("email changed before the link was used: %s", got)
		}
		if pending, _, _ := ts.Store.PendingEmail(t.Context(), ts.User.ID); pending != "ada@new.example" {
			t.Fatalf("pending: %q", pending)
		}
		if resp, me := owner.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 200 || me["pending_email"] != "ada@new.example" || me["email"] != "owner@example.com" {
			t.Fatalf("@me while the change waits: %d pending_email=%v email=%v", resp.StatusCode, me["pending_email"], me["email"])
		}
		notice := false
		for _, m := range ts.Mail.Messages() {
			notice = notice || (m.To == "owner@example.com" && strings.Contains(m.Text, "ada@new.example") && !strings.Contains(m.Text, token))
		}
		if !notice {
			t.Fatalf("no notice to the old address: %v", ts.Mail.Messages())
		}
		anon := apitest.NewBrowser(t, ts)
		if code, body := apitest.ConfirmEmail(ts, anon, token); code != 200 {
			t.Fatalf("confirming: %d %v", code, body)
		}
		u, _ := ts.Store.UserByUUID(t.Context(), ts.User.UUID)
		if u.Email != "ada@new.example" || u.IsEmailVerified == nil || !*u.IsEmailVerified {
			t.Fatalf("after confirmation: %+v", u)
		}
		for _, b := range []*apitest.Browser{owner, other, anon} {
			if resp, _ := b.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 401 && resp.StatusCode != 403 {
				t.Fatalf("a session survived the email change: %d", resp.StatusCode)
			}
		}
		if code, body := apitest.ConfirmEmail(ts, anon, token); code != 400 || body["code"] != "invalid_token" {
			t.Fatalf("replayed link: %d %v", code, body)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode == 200 {
			t.Fatal("the old address still signs in")
		}
		b := apitest.NewBrowser(t, ts)
		if resp, body := b.Login("ada@new.example", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("new address login: %d %v", resp.StatusCode, body)
		}

		// A later request voids the earlier link; the later one works.
		first := apitest.RequestEmailChangeToken(t, ts, b, "first@new.example")
		second := apitest.RequestEmailChangeToken(t, ts, b, "second@new.example")
		if code, body := apitest.ConfirmEmail(ts, apitest.NewBrowser(t, ts), first); code != 400 || body["code"] != "invalid_token" {
			t.Fatalf("link of a replaced request: %d %v", code, body)
		}
		// After 24 hours the link is dead.
		clock.Add(24*time.Hour + time.Minute)
		if code, body := apitest.ConfirmEmail(ts, apitest.NewBrowser(t, ts), second); code != 400 || body["code"] != "invalid_token" {
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
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		token := apitest.RequestEmailChangeToken(t, ts, owner, "b@new.example")
		// Another account takes the address before the link is used.
		apitest.JoinByInvite(t, ts, owner, "b@new.example", 1)
		if code, body := apitest.ConfirmEmail(ts, apitest.NewBrowser(t, ts), token); code != 400 || body["code"] != "email_taken" {
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
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		dev := apitest.JoinByInvite(t, ts, owner, "dev@acme.example", 1)
		apitest.EnforceSAML(t, ts, owner)
		key := apitest.MustKey(t, owner)
		before := len(ts.Mail.Messages())
		for _, c := range []struct{ email, code string }{
			{"MEMBER@example.com", "unique"},
			{"someone@acme.example", "sso_enforced_new_email"},
			{"not an address", ""},
		} {
			resp, body := owner.Send("PATCH", "/api/users/@me/", `{"email":"`+c.email+`"}`, true)
			if resp.StatusCode != 400 || (c.code != "" && body["code"] != c.code) {
				t.Fatalf("%s: %d %v", c.email, resp.StatusCode, body)
			}
		}
		// Moving off a domain that enforces SSO would escape it.
		if resp, body := dev.Send("PATCH", "/api/users/@me/", `{"email":"dev@elsewhere.example"}`, true); resp.StatusCode != 400 || body["code"] != "sso_enforced_current_email" {
			t.Fatalf("off an enforced domain: %d %v", resp.StatusCode, body)
		}
		if resp, _ := apitest.KeyRequest(t, ts, "PATCH", "/api/users/@me/", key, `{"email":"k@new.example"}`); resp.StatusCode != 403 {
			t.Fatalf("key: %d", resp.StatusCode)
		}
		if _, err := ts.Store.DB().ExecContext(t.Context(), apitest.Rebind(engine, `UPDATE sessions SET created_at = ?`), time.Now().Add(-3*time.Hour).UTC()); err != nil {
			t.Fatal(err)
		}
		resp, body := owner.Send("PATCH", "/api/users/@me/", `{"email":"late@new.example"}`, true)
		apitest.WantDenied(t, "old session", resp, body, 403, "This action requires you to be recently authenticated.")
		if pending, _, _ := ts.Store.PendingEmail(t.Context(), ts.User.ID); pending != "" || len(ts.Mail.Messages()) != before {
			t.Fatalf("refusals left %q pending or mailed %v", pending, ts.Mail.Messages()[before:])
		}
	})
}

// The mailed link's page confirms the change with a click and sends the
// browser to sign in, signed in as nobody.
func TestEmailChangeLinkPage(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		token := apitest.RequestEmailChangeToken(t, ts, owner, "page@new.example")
		path := "/verify_email/" + ts.User.UUID + "/" + token
		b := apitest.NewBrowser(t, ts)
		resp, _ := b.Submit(path, path, nil)
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
			t.Fatalf("confirming by page: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if got := storedEmail(t, ts); got != "page@new.example" {
			t.Fatalf("email: %s", got)
		}
		if resp, _ := b.Send("GET", "/api/users/@me/", "", false); resp.StatusCode == 200 {
			t.Fatal("the link signed the browser in")
		}
	})
}
