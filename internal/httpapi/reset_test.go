package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// fakeMailer captures queued emails.
type FakeMailer struct {
	Mu   sync.Mutex
	Sent []mail.Message
	// wait, when set, waits for mail still being queued after an answer
	// (the reset service's Wait).
	Wait func()
}

func (f *FakeMailer) Queue(_ context.Context, m mail.Message) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Sent = append(f.Sent, m)
	return nil
}

func (f *FakeMailer) Messages() []mail.Message {
	if f.Wait != nil {
		f.Wait()
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]mail.Message(nil), f.Sent...)
}

const testResetSecret = "test-key-password-reset-0123456789abcdef"

var ResetLinkPattern = regexp.MustCompile(`https://gatehouse\.example\.com/reset/([0-9a-f-]{36})/([0-9a-z]+-[0-9a-f]{64})`)

// requestReset asks for a reset of email and returns the token from the
// newest email (or "" when none was sent).
func RequestReset(t *testing.T, ts *Server, email string) string {
	t.Helper()
	before := len(ts.Mail.Messages())
	resp, body := NewBrowser(t, ts).Send("POST", "/api/reset/", `{"email":"`+email+`"}`, false)
	if resp.StatusCode != 204 || body != nil {
		t.Fatalf("reset request: %d %v", resp.StatusCode, body)
	}
	msgs := ts.Mail.Messages()
	if len(msgs) == before {
		return ""
	}
	if len(msgs) != before+1 {
		t.Fatalf("%d emails for one request", len(msgs)-before)
	}
	m := msgs[len(msgs)-1]
	match := ResetLinkPattern.FindStringSubmatch(m.Text)
	if m.Subject != "Reset your Gatehouse password" || match == nil || !strings.EqualFold(m.To, email) {
		t.Fatalf("reset email: %+v", m)
	}
	if match[1] != ts.User.UUID {
		t.Fatalf("link for user %s, want %s", match[1], ts.User.UUID)
	}
	return match[2]
}

func ValidateReset(t *testing.T, ts *Server, uuid, token string) (int, map[string]any) {
	t.Helper()
	resp, body := NewBrowser(t, ts).Send("GET", "/api/reset/"+uuid+"/?token="+token, "", false)
	return resp.StatusCode, body
}

func CompleteReset(t *testing.T, ts *Server, uuid, token, pw string) (int, map[string]any) {
	t.Helper()
	in, _ := json.Marshal(map[string]string{"token": token, "password": pw})
	resp, body := NewBrowser(t, ts).Send("POST", "/api/reset/"+uuid, string(in), false)
	return resp.StatusCode, body
}

func WantInvalidToken(t *testing.T, what string, status int, body map[string]any) {
	t.Helper()
	if status != 400 || body["code"] != "invalid_token" || body["attr"] != "token" ||
		body["detail"] != "This reset token is invalid or has expired." || body["type"] != "validation_error" {
		t.Fatalf("%s: %d %v", what, status, body)
	}
}

const (
	resetEmail       = "owner@example.com"
	resetOldPassword = "correct horse battery"
	ResetNewPassword = "plinth-marmalade-quasar-77"
)

func TestPasswordResetFlow(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{})
		before := NewBrowser(t, ts)
		if resp, body := before.Login(resetEmail, resetOldPassword); resp.StatusCode != 200 {
			t.Fatalf("login: %d %v", resp.StatusCode, body)
		}

		// Unknown email: same answer, no email.
		if tok := RequestReset(t, ts, "nobody@example.com"); tok != "" {
			t.Fatal("email sent for an unknown address")
		}
		tok := RequestReset(t, ts, "Owner@Example.com")
		if tok == "" {
			t.Fatal("no reset email")
		}
		if st, body := ValidateReset(t, ts, ts.User.UUID, tok); st != 200 || body != nil {
			t.Fatalf("validate: %d %v", st, body)
		}
		// Without a trailing slash, and with an upper-case UUID, too.
		if st, _ := ValidateReset(t, ts, strings.ToUpper(ts.User.UUID), tok); st != 200 {
			t.Fatalf("validate upper-case uuid: %d", st)
		}

		// A weak password changes nothing; the token stays valid.
		if st, body := CompleteReset(t, ts, ts.User.UUID, tok, "password"); st != 400 || body["attr"] != "password" {
			t.Fatalf("weak password: %d %v", st, body)
		}
		if st, _ := ValidateReset(t, ts, ts.User.UUID, tok); st != 200 {
			t.Fatalf("token spent by a refused password: %d", st)
		}
		if resp, _ := NewBrowser(t, ts).Login(resetEmail, resetOldPassword); resp.StatusCode != 200 {
			t.Fatalf("old password refused after a failed reset: %d", resp.StatusCode)
		}

		st, body := CompleteReset(t, ts, ts.User.UUID, tok, ResetNewPassword)
		if st != 200 || body["success"] != true || body["email"] != resetEmail {
			t.Fatalf("complete: %d %v", st, body)
		}
		msgs := ts.Mail.Messages()
		if last := msgs[len(msgs)-1]; last.Subject != "Your Gatehouse password was changed" || last.To != resetEmail {
			t.Fatalf("completion email: %+v", last)
		}
		// Every session, including the one made just above, was ended.
		if resp, _ := before.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 401 {
			t.Fatalf("session survived the reset: %d", resp.StatusCode)
		}
		if resp, _ := NewBrowser(t, ts).Login(resetEmail, resetOldPassword); resp.StatusCode == 200 {
			t.Fatal("old password still works")
		}
		if resp, body := NewBrowser(t, ts).Login(resetEmail, ResetNewPassword); resp.StatusCode != 200 {
			t.Fatalf("new password refused: %d %v", resp.StatusCode, body)
		}

		// Single use.
		st, body = ValidateReset(t, ts, ts.User.UUID, tok)
		WantInvalidToken(t, "validate used token", st, body)
		st, body = CompleteReset(t, ts, ts.User.UUID, tok, "another-Password-4242-xyz")
		WantInvalidToken(t, "reuse", st, body)

		// The token never reaches the logs.
		if logs := ts.Logs.String(); strings.Contains(logs, tok) || strings.Contains(logs, tok[strings.IndexByte(tok, '-')+1:]) {
			t.Fatalf("token in logs:\n%s", logs)
		}
	})
}

func TestPasswordResetInvalidation(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		ts := NewServer(t, engine, Options{Now: now})
		ctx := context.Background()

		t.Run("newer request", func(t *testing.T) {
			old := RequestReset(t, ts, resetEmail)
			offset.Add(int64(2 * time.Millisecond))
			fresh := RequestReset(t, ts, resetEmail)
			st, body := ValidateReset(t, ts, ts.User.UUID, old)
			WantInvalidToken(t, "older token", st, body)
			if st, _ := ValidateReset(t, ts, ts.User.UUID, fresh); st != 200 {
				t.Fatalf("newest token: %d", st)
			}
		})
		t.Run("password change", func(t *testing.T) {
			offset.Add(int64(time.Hour)) // a new throttle window
			tok := RequestReset(t, ts, resetEmail)
			if err := ts.Store.SetPasswordHash(ctx, ts.User.ID, password.Hash("changed-elsewhere-Password-1")); err != nil {
				t.Fatal(err)
			}
			st, body := ValidateReset(t, ts, ts.User.UUID, tok)
			WantInvalidToken(t, "after password change", st, body)
		})
		t.Run("expiry", func(t *testing.T) {
			offset.Add(int64(time.Hour))
			tok := RequestReset(t, ts, resetEmail)
			// Tokens carry their issue time in whole seconds, so the token
			// can look up to 1 s older than it is: probe 2 s either side.
			offset.Add(int64(24*time.Hour - 2*time.Second))
			if st, _ := ValidateReset(t, ts, ts.User.UUID, tok); st != 200 {
				t.Fatalf("token refused before 24 h: %d", st)
			}
			offset.Add(int64(4 * time.Second))
			st, body := ValidateReset(t, ts, ts.User.UUID, tok)
			WantInvalidToken(t, "expired", st, body)
		})
		t.Run("tampered and foreign tokens", func(t *testing.T) {
			offset.Add(int64(time.Hour))
			tok := RequestReset(t, ts, resetEmail)
			flip := []byte(tok)
			if flip[len(flip)-1] == '0' {
				flip[len(flip)-1] = '1'
			} else {
				flip[len(flip)-1] = '0'
			}
			for name, tc := range map[string]struct{ uuid, token string }{
				"tampered mac":       {ts.User.UUID, string(flip)},
				"tampered timestamp": {ts.User.UUID, "1" + tok},
				"plus sign":          {ts.User.UUID, "+" + tok},
				"garbage":            {ts.User.UUID, "not-a-token"},
				"unknown user":       {gatehouse.NewUUID(), tok},
				"malformed uuid":     {"not-a-uuid", tok},
			} {
				st, body := ValidateReset(t, ts, tc.uuid, tc.token)
				WantInvalidToken(t, name+" (validate)", st, body)
				st, body = CompleteReset(t, ts, tc.uuid, tc.token, ResetNewPassword)
				WantInvalidToken(t, name+" (complete)", st, body)
			}
			if st, _ := ValidateReset(t, ts, ts.User.UUID, tok); st != 200 {
				t.Fatalf("genuine token refused after the attempts: %d", st)
			}
		})
	})
}

func TestPasswordResetConcurrentCompletion(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{})
		tok := RequestReset(t, ts, resetEmail)
		const n = 10
		var wg sync.WaitGroup
		var ok, invalid atomic.Int32
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in, _ := json.Marshal(map[string]string{"token": tok, "password": ResetNewPassword})
				resp, err := http.Post(ts.URL+"/api/reset/"+ts.User.UUID+"/", "application/json", strings.NewReader(string(in)))
				if err != nil {
					t.Error(err)
					return
				}
				var body map[string]any
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == 200:
					ok.Add(1)
				case resp.StatusCode == 400 && body["code"] == "invalid_token":
					invalid.Add(1)
				default:
					t.Errorf("unexpected answer %d %v", resp.StatusCode, body)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 1 || invalid.Load() != n-1 {
			t.Fatalf("%d succeeded and %d refused, want 1 and %d", ok.Load(), invalid.Load(), n-1)
		}
		changed := 0
		for _, m := range ts.Mail.Messages() {
			if m.Subject == "Your Gatehouse password was changed" {
				changed++
			}
		}
		if changed != 1 {
			t.Fatalf("%d completion emails", changed)
		}
	})
}

func TestPasswordResetRequestErrorsAndThrottle(t *testing.T) {
	ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := NewServer(t, engine, Options{})
		b := NewBrowser(t, ts)
		for _, tc := range []struct {
			name, body string
			code       string
		}{
			{"missing email", `{}`, "required"},
			{"blank email", `{"email":"  "}`, "required"},
			{"invalid email", `{"email":"not an email"}`, "invalid_input"},
		} {
			resp, body := b.Send("POST", "/api/reset", tc.body, false)
			if resp.StatusCode != 400 || body["code"] != tc.code || body["attr"] != "email" {
				t.Fatalf("%s: %d %v", tc.name, resp.StatusCode, body)
			}
		}
		// Missing token on validate.
		resp, body := b.Send("GET", "/api/reset/"+ts.User.UUID+"/", "", false)
		if resp.StatusCode != 400 || body["code"] != "required" || body["attr"] != "token" || body["detail"] != "This field is required." {
			t.Fatalf("missing token: %d %v", resp.StatusCode, body)
		}
		// A signed-in browser without CSRF token can still use the endpoints.
		if resp, _ := b.Login(resetEmail, resetOldPassword); resp.StatusCode != 200 {
			t.Fatalf("login: %d", resp.StatusCode)
		}

		for _, email := range []string{resetEmail, "ghost@example.com"} {
			for i := 0; i < 3; i++ {
				resp, body := b.Send("POST", "/api/reset/", `{"email":"`+strings.ToUpper(email)+`"}`, false)
				if resp.StatusCode != 204 {
					t.Fatalf("%s request %d: %d %v", email, i+1, resp.StatusCode, body)
				}
			}
			sentBefore := len(ts.Mail.Messages())
			resp, body := b.Send("POST", "/api/reset/", `{"email":"`+email+`"}`, false)
			ra := resp.Header.Get("Retry-After")
			if resp.StatusCode != 429 || body["type"] != "throttled_error" || body["code"] != "throttled" || body["attr"] != nil || ra == "" || ra == "0" ||
				body["detail"] != "Request was throttled. Expected available in "+ra+" seconds." {
				t.Fatalf("%s 4th request: %d %v %v", email, resp.StatusCode, body, resp.Header)
			}
			if len(ts.Mail.Messages()) != sentBefore {
				t.Fatalf("a throttled request sent email")
			}
		}
		// Only the known address got mail: three links.
		links := 0
		for _, m := range ts.Mail.Messages() {
			if strings.Contains(m.To, "ghost") {
				t.Fatalf("email sent to an unknown address: %+v", m)
			}
			if m.Subject == "Reset your Gatehouse password" {
				links++
			}
		}
		if links != 3 {
			t.Fatalf("%d reset emails, want 3", links)
		}
	})
}
