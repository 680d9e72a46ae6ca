package httpapi_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func signupBody(email, pw string) string {
	b, _ := json.Marshal(map[string]string{"first_name": "Grace", "last_name": "Hopper", "email": email, "password": pw})
	return string(b)
}

const goodPassword = "compiler cobol navy 1906"

func TestSignupFirstUser(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := newTestServer(t, engine, serverOptions{empty: true})
		b := newBrowser(t, ts)
		resp, body := b.send("POST", "/api/signup/", signupBody("grace@example.com", goodPassword), false)
		if resp.StatusCode != 201 || body["email"] != "grace@example.com" || body["redirect_url"] != "/" {
			t.Fatalf("signup: %d %v", resp.StatusCode, body)
		}
		if org := body["organization"].(map[string]any); org["name"] != "Grace's Organization" {
			t.Fatalf("default organization name: %v", org)
		}
		resp, me := b.send("GET", "/api/users/@me", "", false)
		if resp.StatusCode != 200 || me["is_staff"] != true || me["organization"].(map[string]any)["membership_level"] != float64(15) {
			t.Fatalf("signed in as the staff owner: %d %v", resp.StatusCode, me)
		}
		// A second organization is refused without MULTI_ORG_ENABLED.
		resp, body = newBrowser(t, ts).send("POST", "/api/signup", signupBody("second@example.com", goodPassword), false)
		if resp.StatusCode != 403 {
			t.Fatalf("second signup: %d %v", resp.StatusCode, body)
		}
		if _, err := ts.store.UserByEmail(t.Context(), "second@example.com"); !store.IsNotFound(err) {
			t.Fatal("a refused signup created a user")
		}
	})
}

func TestSignupValidation(t *testing.T) {
	ts := newTestServer(t, store.SQLite, serverOptions{multiOrg: true})
	for _, tc := range []struct {
		name, body, code, attr string
	}{
		{"duplicate email any case", signupBody("OWNER@example.com", goodPassword), "unique", "email"},
		{"weak password", signupBody("new@example.com", "password123"), "password_too_weak", "password"},
		{"short password", signupBody("new@example.com", "abc"), "password_too_short", "password"},
		{"bad email", signupBody("not-an-email", goodPassword), "invalid_input", "email"},
		{"no first name", `{"email":"new@example.com","password":"` + goodPassword + `"}`, "required", "first_name"},
		{"no password", `{"first_name":"A","email":"new@example.com"}`, "required", "password"},
		{"malformed", `{"first_name":`, "parse_error", ""},
	} {
		resp, body := newBrowser(t, ts).send("POST", "/api/signup", tc.body, false)
		if resp.StatusCode != 400 || body["code"] != tc.code || (tc.attr != "" && body["attr"] != tc.attr) {
			t.Errorf("%s: %d %v", tc.name, resp.StatusCode, body)
		}
	}
	if _, err := ts.store.UserByEmail(t.Context(), "new@example.com"); !store.IsNotFound(err) {
		t.Fatal("a refused signup created a user")
	}
	// With MULTI_ORG_ENABLED a new organization is fine, and its user is not staff.
	b := newBrowser(t, ts)
	if resp, body := b.send("POST", "/api/signup", signupBody("new@example.com", goodPassword), false); resp.StatusCode != 201 {
		t.Fatalf("multi-org signup: %d %v", resp.StatusCode, body)
	}
	if _, me := b.send("GET", "/api/users/@me", "", false); me["is_staff"] != false {
		t.Fatalf("only the first user is staff: %v", me)
	}
}

func TestSignupThrottledPerAddress(t *testing.T) {
	ts := newTestServer(t, store.SQLite, serverOptions{multiOrg: true, signupRate: "2/day"})
	for i := 0; i < 2; i++ {
		if resp, body := newBrowser(t, ts).send("POST", "/api/signup", signupBody(fmt.Sprintf("u%d@example.com", i), goodPassword), false); resp.StatusCode != 201 {
			t.Fatalf("signup %d: %d %v", i, resp.StatusCode, body)
		}
	}
	resp, body := newBrowser(t, ts).send("POST", "/api/signup", signupBody("u3@example.com", goodPassword), false)
	if resp.StatusCode != 429 || body["type"] != "throttled_error" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third signup: %d %v %v", resp.StatusCode, body, resp.Header)
	}
}

func TestConcurrentFirstSignupsCreateOneOrganization(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := newTestServer(t, engine, serverOptions{empty: true})
		var wg sync.WaitGroup
		codes := make(chan int, 6)
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := newBrowser(t, ts).send("POST", "/api/signup", signupBody(fmt.Sprintf("race%d@example.com", i), goodPassword), false)
				codes <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		created := 0
		for c := range codes {
			if c == 201 {
				created++
			} else if c != 403 {
				t.Errorf("unexpected status %d", c)
			}
		}
		if n, _ := ts.store.CountOrganizations(t.Context()); created != 1 || n != 1 {
			t.Fatalf("%d signups succeeded, %d organizations exist; want 1 and 1", created, n)
		}
	})
}
