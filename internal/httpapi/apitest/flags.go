package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/password"
)

// outsider creates a second organization with its own owner and returns a
// browser signed in as that owner and the new project.
func Outsider(t *testing.T, ts *Server) (*Browser, *gatehouse.Project) {
	t.Helper()
	accounts := &gatehouse.AccountService{Store: ts.Store, HashPassword: password.TestCost.Hash, CheckPassword: password.CheckStrength, Passwords: password.NewHasher(0, 0).WithCost(password.TestCost)}
	created, err := accounts.CreateOrganizationWithOwner(context.Background(), gatehouse.NewOwner{
		Email: "outsider@example.org", Password: "another horse battery staple", OrganizationName: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	b := NewBrowser(t, ts)
	if resp, body := b.Login("outsider@example.org", "another horse battery staple"); resp.StatusCode != 200 {
		t.Fatalf("outsider login: %d %v", resp.StatusCode, body)
	}
	return b, created.Project
}

func CreateFlag(t *testing.T, b *Browser, projectID int64, body string) map[string]any {
	t.Helper()
	resp, out := b.Send("POST", fmt.Sprintf("/api/projects/%d/feature_flags/", projectID), body, true)
	if resp.StatusCode != 201 {
		t.Fatalf("create %s: %d %v", body, resp.StatusCode, out)
	}
	return out
}

// getWith makes a GET with headers and returns status, headers and body.
func GetWith(t *testing.T, ts *Server, path string, header ...string) (*http.Response, string) {
	t.Helper()
	return ts.Do(t, "GET", path, nil, header...)
}

func PostFlags(t *testing.T, ts *Server, path string, body []byte, header ...string) (int, map[string]any) {
	t.Helper()
	resp, text := ts.Do(t, "POST", path, bytes.NewReader(body), header...)
	var out map[string]any
	if err := json.Unmarshal([]byte(text), &out); err != nil {
		t.Fatalf("%s: not JSON: %q", path, text)
	}
	return resp.StatusCode, out
}
