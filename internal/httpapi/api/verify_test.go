package api_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestSignupWithEmailVerification(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{Empty: true, VerifyEmail: true})
		b := apitest.NewBrowser(t, ts)
		resp, body := b.Send("POST", "/api/signup", apitest.SignupBody("grace@example.com", apitest.GoodPassword), false)
		if resp.StatusCode != 201 || body["is_email_verified"] != false || !strings.HasPrefix(body["redirect_url"].(string), "/verify_email/") {
			t.Fatalf("signup: %d %v", resp.StatusCode, body)
		}
		if b.Cookie("sessionid") != "" {
			t.Fatal("an unverified signup was signed in")
		}
		links := apitest.VerificationLinks(t, ts)
		if len(links) != 1 || links[0] == nil {
			t.Fatalf("verification mail: %v", ts.Mail.Messages())
		}
		uuid, token := links[0][1], links[0][2]
		// Password login is refused until the address is verified, and a
		// fresh link is sent.
		resp, body = b.Login("grace@example.com", apitest.GoodPassword)
		if resp.StatusCode != 400 || body["code"] != "not_verified" {
			t.Fatalf("unverified login: %d %v", resp.StatusCode, body)
		}
		if n := len(apitest.VerificationLinks(t, ts)); n != 2 {
			t.Fatalf("no fresh link after the refused login: %d", n)
		}
		for _, bad := range []string{"", apitest.FlipLast(token), "zz-" + strings.Repeat("0", 64)} {
			if resp, body := b.Send("POST", "/api/users/verify_email/", apitest.VerifyBody(uuid, bad), false); resp.StatusCode != 400 {
				t.Fatalf("bad token %q: %d %v", bad, resp.StatusCode, body)
			}
		}
		// The same link used concurrently verifies once.
		var wg sync.WaitGroup
		codes := make(chan int, 5)
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/users/verify_email", apitest.VerifyBody(uuid, token), false)
				codes <- resp.StatusCode
			}()
		}
		wg.Wait()
		close(codes)
		ok := 0
		for c := range codes {
			if c == 200 {
				ok++
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent verifications succeeded, want 1", ok)
		}
		if resp, body := b.Login("grace@example.com", apitest.GoodPassword); resp.StatusCode != 200 {
			t.Fatalf("verified login: %d %v", resp.StatusCode, body)
		}
		if _, me := b.Send("GET", "/api/users/@me", "", false); me["is_email_verified"] != true {
			t.Fatalf("@me: %v", me)
		}
		resp, body = b.Send("POST", "/api/users/request_email_verification", `{"uuid":"`+uuid+`"}`, false)
		if resp.StatusCode != 400 || body["code"] != "already_verified" {
			t.Fatalf("request after verification: %d %v", resp.StatusCode, body)
		}
	})
}

func TestVerificationLinkExpires(t *testing.T) {
	t.Parallel()
	now := time.Now()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Empty: true, VerifyEmail: true, Now: func() time.Time { return now }})
	apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody("late@example.com", apitest.GoodPassword), false)
	links := apitest.VerificationLinks(t, ts)
	if len(links) != 1 {
		t.Fatal("no link")
	}
	now = now.Add(gatehouse.EmailVerifyTTL + time.Second)
	if resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/users/verify_email", apitest.VerifyBody(links[0][1], links[0][2]), false); resp.StatusCode != 400 || body["code"] != "invalid_token" {
		t.Fatalf("expired link: %d %v", resp.StatusCode, body)
	}
	// Unknown uuids get the same answer as real ones.
	if resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/users/request_email_verification", `{"uuid":"00000000-0000-4000-8000-000000000000"}`, false); resp.StatusCode != 200 {
		t.Fatalf("unknown uuid: %d", resp.StatusCode)
	}
	if resp, _ := apitest.NewBrowser(t, ts).Send("POST", "/api/users/request_email_verification", `{"uuid":"`+links[0][1]+`"}`, false); resp.StatusCode != 200 {
		t.Fatalf("resend: %d", resp.StatusCode)
	}
	if n := len(apitest.VerificationLinks(t, ts)); n != 2 {
		t.Fatalf("resend did not mail: %d", n)
	}
}

func TestVerifyEmailPage(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Empty: true, VerifyEmail: true})
	apitest.NewBrowser(t, ts).Send("POST", "/api/signup", apitest.SignupBody("grace@example.com", apitest.GoodPassword), false)
	links := apitest.VerificationLinks(t, ts)
	if len(links) != 1 {
		t.Fatal("no link")
	}
	path := "/verify_email/" + links[0][1] + "/" + links[0][2]
	b := apitest.NewBrowser(t, ts)
	// Opening the link alone verifies nothing (mail scanners fetch links).
	if resp, html := b.Page("GET", path, nil); resp.StatusCode != 200 || !strings.Contains(html, `action="`+path+`"`) {
		t.Fatalf("landing page: %d\n%s", resp.StatusCode, html)
	}
	if u, _ := ts.Store.UserByEmail(t.Context(), "grace@example.com"); u.IsEmailVerified == nil || *u.IsEmailVerified {
		t.Fatal("a GET verified the email")
	}
	resp, _ := b.Submit(path, path, nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/" {
		t.Fatalf("verify: %d %v", resp.StatusCode, resp.Header)
	}
	if _, me := b.Send("GET", "/api/users/@me", "", false); me["is_email_verified"] != true {
		t.Fatalf("not signed in and verified: %v", me)
	}
	resp, html := apitest.NewBrowser(t, ts).Submit(path, path, nil)
	if resp.StatusCode != 400 || !strings.Contains(html, "invalid or has expired") {
		t.Fatalf("spent link: %d\n%s", resp.StatusCode, html)
	}
	if strings.Contains(ts.Logs.String(), links[0][2]) {
		t.Fatal("the verification token reached the log")
	}
}
