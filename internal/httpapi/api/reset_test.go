package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestPasswordResetFlow(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		before := apitest.NewBrowser(t, ts)
		if resp, body := before.Login(apitest.ResetEmail, apitest.ResetOldPassword); resp.StatusCode != 200 {
			t.Fatalf("login: %d %v", resp.StatusCode, body)
		}

		// Unknown email: same answer, no email.
		if tok := apitest.RequestReset(t, ts, "nobody@example.com"); tok != "" {
			t.Fatal("email sent for an unknown address")
		}
		tok := apitest.RequestReset(t, ts, "Owner@Example.com")
		if tok == "" {
			t.Fatal("no reset email")
		}
		if st, body := apitest.ValidateReset(t, ts, ts.User.UUID, tok); st != 200 || body != nil {
			t.Fatalf("validate: %d %v", st, body)
		}
		// Without a trailing slash, and with an upper-case UUID, too.
		if st, _ := apitest.ValidateReset(t, ts, strings.ToUpper(ts.User.UUID), tok); st != 200 {
			t.Fatalf("validate upper-case uuid: %d", st)
		}

		// A weak password changes nothing; the token stays valid.
		if st, body := apitest.CompleteReset(t, ts, ts.User.UUID, tok, "password"); st != 400 || body["attr"] != "password" {
			t.Fatalf("weak password: %d %v", st, body)
		}
		if st, _ := apitest.ValidateReset(t, ts, ts.User.UUID, tok); st != 200 {
			t.Fatalf("token spent by a refused password: %d", st)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Login(apitest.ResetEmail, apitest.ResetOldPassword); resp.StatusCode != 200 {
			t.Fatalf("old password refused after a failed reset: %d", resp.StatusCode)
		}

		st, body := apitest.CompleteReset(t, ts, ts.User.UUID, tok, apitest.ResetNewPassword)
		if st != 200 || body["success"] != true || body["email"] != apitest.ResetEmail {
			t.Fatalf("complete: %d %v", st, body)
		}
		msgs := ts.Mail.Messages()
		if last := msgs[len(msgs)-1]; last.Subject != "Your Gatehouse password was changed" || last.To != apitest.ResetEmail {
			t.Fatalf("completion email: %+v", last)
		}
		// Every session, including the one made just above, was ended.
		if resp, _ := before.Send("GET", "/api/users/@me/", "", false); resp.StatusCode != 401 {
			t.Fatalf("session survived the reset: %d", resp.StatusCode)
		}
		if resp, _ := apitest.NewBrowser(t, ts).Login(apitest.ResetEmail, apitest.ResetOldPassword); resp.StatusCode == 200 {
			t.Fatal("old password still works")
		}
		if resp, body := apitest.NewBrowser(t, ts).Login(apitest.ResetEmail, apitest.ResetNewPassword); resp.StatusCode != 200 {
			t.Fatalf("new password refused: %d %v", resp.StatusCode, body)
		}

		// Single use.
		st, body = apitest.ValidateReset(t, ts, ts.User.UUID, tok)
		apitest.WantInvalidToken(t, "validate used token", st, body)
		st, body = apitest.CompleteReset(t, ts, ts.User.UUID, tok, "another-Password-4242-xyz")
		apitest.WantInvalidToken(t, "reuse", st, body)

		// The token never reaches the logs.
		if logs := ts.Logs.String(); strings.Contains(logs, tok) || strings.Contains(logs, tok[strings.IndexByte(tok, '-')+1:]) {
			t.Fatalf("token in logs:\n%s", logs)
		}
	})
}

func TestPasswordResetInvalidation(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		var offset atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		ts := apitest.NewServer(t, engine, apitest.Options{Now: now})
		ctx := context.Background()

		t.Run("newer request", func(t *testing.T) {
			old := apitest.RequestReset(t, ts, apitest.ResetEmail)
			offset.Add(int64(2 * time.Millisecond))
			fresh := apitest.RequestReset(t, ts, apitest.ResetEmail)
			st, body := apitest.ValidateReset(t, ts, ts.User.UUID, old)
			apitest.WantInvalidToken(t, "older token", st, body)
			if st, _ := apitest.ValidateReset(t, ts, ts.User.UUID, fresh); st != 200 {
				t.Fatalf("newest token: %d", st)
			}
		})
		t.Run("password change", func(t *testing.T) {
			offset.Add(int64(time.Hour)) // a new throttle window
			tok := apitest.RequestReset(t, ts, apitest.ResetEmail)
			if err := ts.Store.SetPasswordHash(ctx, ts.User.ID, password.TestCost.Hash("changed-elsewhere-Password-1")); err != nil {
				t.Fatal(err)
			}
			st, body := apitest.ValidateReset(t, ts, ts.User.UUID, tok)
			apitest.WantInvalidToken(t, "after password change", st, body)
		})
		t.Run("expiry", func(t *testing.T) {
			offset.Add(int64(time.Hour))
			tok := apitest.RequestReset(t, ts, apitest.ResetEmail)
			// Tokens carry their issue time in whole seconds, so the token
			// can look up to 1 s older than it is: probe 2 s either side.
			offset.Add(int64(24*time.Hour - 2*time.Second))
			if st, _ := apitest.ValidateReset(t, ts, ts.User.UUID, tok); st != 200 {
				t.Fatalf("token refused before 24 h: %d", st)
			}
			offset.Add(int64(4 * time.Second))
			st, body := apitest.ValidateReset(t, ts, ts.User.UUID, tok)
			apitest.WantInvalidToken(t, "expired", st, body)
		})
		t.Run("tampered and foreign tokens", func(t *testing.T) {
			offset.Add(int64(time.Hour))
			tok := apitest.RequestReset(t, ts, apitest.ResetEmail)
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
				st, body := apitest.ValidateReset(t, ts, tc.uuid, tc.token)
				apitest.WantInvalidToken(t, name+" (validate)", st, body)
				st, body = apitest.CompleteReset(t, ts, tc.uuid, tc.token, apitest.ResetNewPassword)
				apitest.WantInvalidToken(t, name+" (complete)", st, body)
			}
			if st, _ := apitest.ValidateReset(t, ts, ts.User.UUID, tok); st != 200 {
				t.Fatalf("genuine token refused after the attempts: %d", st)
			}
		})
	})
}

func TestPasswordResetConcurrentCompletion(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		tok := apitest.RequestReset(t, ts, apitest.ResetEmail)
		const n = 10
		var wg sync.WaitGroup
		var ok, invalid atomic.Int32
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in, _ := json.Marshal(map[string]string{"token": tok, "password": apitest.ResetNewPassword})
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
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.NewBrowser(t, ts)
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
		if resp, _ := b.Login(apitest.ResetEmail, apitest.ResetOldPassword); resp.StatusCode != 200 {
			t.Fatalf("login: %d", resp.StatusCode)
		}

		for _, email := range []string{apitest.ResetEmail, "ghost@example.com"} {
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
