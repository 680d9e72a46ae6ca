package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Deleting an account: refused for the only owner of an organization with
// other members and for an old session; otherwise the user, their
// sessions and keys are gone at once, with a confirmation email, and an
// organization they were alone in goes with them.
func TestAttackAccountDeletion(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		owner := apitest.OwnerBrowser(t, ts)
		member := apitest.JoinByInvite(t, ts, owner, "member@example.com", 1)
		memberKey := apitest.MustKey(t, member)
		if resp, body := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", memberKey, ""); resp.StatusCode != 200 {
			t.Fatalf("key before deletion: %d %v", resp.StatusCode, body)
		}
		resp, body := owner.Send("DELETE", "/api/users/@me/", "", true)
		if resp.StatusCode != 409 || body["code"] != "conflict" {
			t.Fatalf("last owner deletes: %d %v", resp.StatusCode, body)
		}
		if resp, _ := apitest.KeyRequest(t, ts, "DELETE", "/api/users/@me/", memberKey, ""); resp.StatusCode != 403 {
			t.Fatalf("key deletes: %d", resp.StatusCode)
		}
		if resp, body := member.Send("DELETE", "/api/users/@me/", "", true); resp.StatusCode != 204 {
			t.Fatalf("member deletes: %d %v", resp.StatusCode, body)
		}
		if resp, _ := apitest.KeyRequest(t, ts, "GET", "/api/users/@me/", memberKey, ""); resp.StatusCode != 401 {
			t.Fatalf("deleted user's key: %d", resp.StatusCode)
		}
		if resp, _ := member.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 401 && resp.StatusCode != 403 {
			t.Fatalf("deleted user's session: %d", resp.StatusCode)
		}
		if _, err := ts.Store.UserByEmail(t.Context(), "member@example.com"); !store.IsNotFound(err) {
			t.Fatalf("user still stored: %v", err)
		}
		mailed := false
		for _, m := range ts.Mail.Messages() {
			mailed = mailed || (m.To == "member@example.com" && strings.Contains(m.Subject, "deleted"))
		}
		if !mailed {
			t.Fatal("no confirmation email")
		}
		// Alone now, the owner may go, and the organization with them.
		if _, err := ts.Store.DB().ExecContext(t.Context(), apitest.Rebind(engine, `UPDATE sessions SET created_at = ?`), time.Now().Add(-3*time.Hour).UTC()); err != nil {
			t.Fatal(err)
		}
		resp, body = owner.Send("DELETE", "/api/users/@me/", "", true)
		apitest.WantDenied(t, "old session", resp, body, 403, "This action requires you to be recently authenticated.")
		owner = apitest.OwnerBrowser(t, ts)
		if resp, body := owner.Send("DELETE", "/api/users/@me/", "", true); resp.StatusCode != 204 {
			t.Fatalf("owner alone deletes: %d %v", resp.StatusCode, body)
		}
		if n, err := ts.Store.CountOrganizations(t.Context()); err != nil || n != 0 {
			t.Fatalf("organizations left: %d %v", n, err)
		}
	})
}
