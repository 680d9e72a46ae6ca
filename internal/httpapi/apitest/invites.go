package apitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// invite creates an invite as b and returns the response.
func Invite(t *testing.T, b *Browser, orgRef, email string, level int) (*http.Response, map[string]any) {
	t.Helper()
	body := map[string]any{"target_email": email, "first_name": "Ada"}
	if level != 0 {
		body["level"] = level
	}
	raw, _ := json.Marshal(body)
	return b.Send("POST", "/api/organizations/"+orgRef+"/invites/", string(raw), true)
}

// mustInvite creates an invite as b and returns its id.
func MustInvite(t *testing.T, b *Browser, email string, level int) string {
	t.Helper()
	resp, body := Invite(t, b, "@current", email, level)
	if resp.StatusCode != 201 {
		t.Fatalf("inviting %s: %d %v", email, resp.StatusCode, body)
	}
	return body["id"].(string)
}

func InviteSignupBody(first, pw string) string {
	raw, _ := json.Marshal(map[string]string{"first_name": first, "password": pw})
	return string(raw)
}

// ownerBrowser is the test server's owner, signed in.
func OwnerBrowser(t *testing.T, ts *Server) *Browser {
	t.Helper()
	b := NewBrowser(t, ts)
	if resp, body := b.Login("owner@example.com", OwnerPassword); resp.StatusCode != 200 {
		t.Fatalf("owner login: %d %v", resp.StatusCode, body)
	}
	return b
}

// joinByInvite invites email at level as inviter, accepts the invite in a
// new browser and returns it, signed in as the new user.
func JoinByInvite(t *testing.T, ts *Server, inviter *Browser, email string, level int) *Browser {
	t.Helper()
	id := MustInvite(t, inviter, email, level)
	b := NewBrowser(t, ts)
	if resp, body := b.Send("POST", "/api/signup/"+id+"/", InviteSignupBody("Ada", GoodPassword), false); resp.StatusCode != 201 {
		t.Fatalf("invite signup for %s: %d %v", email, resp.StatusCode, body)
	}
	return b
}

// ExecSQL runs a statement of the test's own on the server's database,
// with ? placeholders (Rebind), and then waits, as the store's own writes
// do, until every instance has seen any auth change it made
// (Store.AwaitAuthChanges).
func (s *Server) ExecSQL(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := s.Store.DB().Exec(Rebind(s.Store.Engine(), query), args...); err != nil {
		t.Fatal(err)
	}
	s.Store.AwaitAuthChanges(t.Context())
}

// rebind turns ? placeholders into PostgreSQL's $n for raw test SQL.
func Rebind(engine store.Engine, query string) string {
	if engine != store.Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}
