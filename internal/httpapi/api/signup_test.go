package api_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestSignupFirstUser(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{Empty: true})
		b := apitest.NewBrowser(t, ts)
		resp, body := b.Send("POST", "/api/signup/", apitest.SignupBody("grace@example.com", apitest.GoodPassword), false)
		if resp.StatusCode != 201 || body["email"] != "grace@example.com" || body["redirect_url"] != "/" {
			t.Fatalf("signup: %d %v", resp.StatusCode, body)
		}
		if org := body["organization"].(map[string]any); org["name"] != "Grace's Organization" {
			t.Fatalf("default organization name: %v", org)
		}
		resp, me := b.Send("GET", "/api/users/@me", "", false)
		if resp.StatusCode != 200 || me["is_staff"] != true || me["organization"].(map[string]any)["membership_level"] != float64(15) {
			t.Fatalf("signed in as the staff owner: %d %v", resp.StatusCode, me)
		}
		// A second organization is refused without MULTI_ORG_ENABLED.
		resp, body = apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody("second@example.com", apitest.GoodPassword), false)
		if resp.StatusCode != 403 {
			t.Fatalf("second signup: %d %v", resp.StatusCode, body)
		}
		if _, err := ts.Store.UserByEmail(t.Context(), "second@example.com"); !store.IsNotFound(err) {
			t.Fatal("a refused signup created a user")
		}
	})
}

func TestSignupValidation(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{MultiOrg: true})
	for _, tc := range []struct {
		name, body, code, attr string
	}{
		{"duplicate email any case", apitest.SignupBody("OWNER@example.com", apitest.GoodPassword), "unique", "email"},
		{"weak password", apitest.SignupBody("new@example.com", "password123"), "password_too_weak", "password"},
		{"short password", apitest.SignupBody("new@example.com", "abc"), "password_too_short", "password"},
		{"bad email", apitest.SignupBody("not-an-email", apitest.GoodPassword), "invalid_input", "email"},
		{"no first name", `{"email":"new@example.com","password":"` + apitest.GoodPassword + `"}`, "required", "first_name"},
		{"no password", `{"first_name":"A","email":"new@example.com"}`, "required", "password"},
		{"malformed", `{"first_name":`, "parse_error", ""},
	} {
		resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup", tc.body, false)
		if resp.StatusCode != 400 || body["code"] != tc.code || (tc.attr != "" && body["attr"] != tc.attr) {
			t.Errorf("%s: %d %v", tc.name, resp.StatusCode, body)
		}
	}
	if _, err := ts.Store.UserByEmail(t.Context(), "new@example.com"); !store.IsNotFound(err) {
		t.Fatal("a refused signup created a user")
	}
	// With MULTI_ORG_ENABLED a new organization is fine, and its user is not staff.
	b := apitest.NewBrowser(t, ts)
	if resp, body := b.Send("POST", "/api/signup", apitest.SignupBody("new@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
		t.Fatalf("multi-org signup: %d %v", resp.StatusCode, body)
	}
	if _, me := b.Send("GET", "/api/users/@me", "", false); me["is_staff"] != false {
		t.Fatalf("only the first user is staff: %v", me)
	}
}

func TestSignupThrottledPerAddress(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{MultiOrg: true, SignupRate: "2/day"})
	for i := 0; i < 2; i++ {
		if resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody(fmt.Sprintf("u%d@example.com", i), apitest.GoodPassword), false); resp.StatusCode != 201 {
			t.Fatalf("signup %d: %d %v", i, resp.StatusCode, body)
		}
	}
	resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody("u3@example.com", apitest.GoodPassword), false)
	if resp.StatusCode != 429 || body["type"] != "throttled_error" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third signup: %d %v %v", resp.StatusCode, body, resp.Header)
	}
}

func TestConcurrentFirstSignupsCreateOneOrganization(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{Empty: true})
		var wg sync.WaitGroup
		codes := make(chan int, 6)
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody(fmt.Sprintf("race%d@example.com", i), apitest.GoodPassword), false)
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
		if n, _ := ts.Store.CountOrganizations(t.Context()); created != 1 || n != 1 {
			t.Fatalf("%d signups succeeded, %d organizations exist; want 1 and 1", created, n)
		}
	})
}
