package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// raceStatuses sends n requests at once (each built by req(i), sent by
// client(i)) and returns how many answers had each status.
func raceStatuses(t *testing.T, n int, client func(i int) *http.Client, req func(i int) *http.Request) map[int]int {
	t.Helper()
	statuses := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := req(i)
			<-start
			resp, err := client(i).Do(r)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	count := map[int]int{}
	for _, s := range statuses {
		count[s]++
	}
	return count
}

// jsonPost is a JSON POST request to the test server.
func jsonPost(ts *apitest.Server, path, body string) *http.Request {
	req, _ := http.NewRequest("POST", ts.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// wantOneWinner fails unless exactly one answer had status win and every
// other answer had one of the statuses lose (a refusal).
func wantOneWinner(t *testing.T, what string, got map[int]int, n, win int, lose ...int) {
	t.Helper()
	losers := 0
	for _, s := range lose {
		losers += got[s]
	}
	if got[win] != 1 || losers != n-1 {
		t.Errorf("%s: statuses %v, want one %d and %d of %v", what, got, win, n-1, lose)
	}
}

// pendingTwoFactor returns n browsers that passed the password step of
// email's login and wait for the second factor.
func pendingTwoFactor(t *testing.T, ts *apitest.Server, email, pw string, n int) []*apitest.Browser {
	t.Helper()
	out := make([]*apitest.Browser, n)
	for i := range out {
		out[i] = apitest.NewBrowser(t, ts)
		if resp, body := out[i].Login(email, pw); resp.StatusCode != 401 || body["code"] != "2fa_required" {
			t.Fatalf("password step %d: %d %v", i, resp.StatusCode, body)
		}
	}
	return out
}

// TestAttackReplaySingleUseTokens: a password-reset token, an invite, an
// email-verification link, a TOTP code and a backup code each work once;
// the second use is refused and changes nothing.
func TestAttackReplaySingleUseTokens(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})

		t.Run("reset token", func(t *testing.T) {
			tok := apitest.RequestReset(t, ts, "owner@example.com")
			if st, body := apitest.CompleteReset(t, ts, ts.User.UUID, tok, apitest.ResetNewPassword); st != 200 {
				t.Fatalf("first use: %d %v", st, body)
			}
			st, body := apitest.CompleteReset(t, ts, ts.User.UUID, tok, "second-password-by-replay-9")
			apitest.WantInvalidToken(t, "replayed reset token", st, body)
			st, body = apitest.ValidateReset(t, ts, ts.User.UUID, tok)
			apitest.WantInvalidToken(t, "validating a used reset token", st, body)
			if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", "second-password-by-replay-9"); resp.StatusCode == 200 {
				t.Fatal("the replayed reset set the password")
			}
			if resp, _ := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.ResetNewPassword); resp.StatusCode != 200 {
				t.Fatalf("the first reset's password: %d", resp.StatusCode)
			}
		})
		// The reset ended every session: sign in with the new password.
		owner := apitest.NewBrowser(t, ts)
		if resp, body := owner.Login("owner@example.com", apitest.ResetNewPassword); resp.StatusCode != 200 {
			t.Fatalf("owner login: %d %v", resp.StatusCode, body)
		}

		t.Run("invite", func(t *testing.T) {
			id := apitest.MustInvite(t, owner, "replay@example.com", 1)
			if resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup/"+id+"/", apitest.InviteSignupBody("Ada", apitest.GoodPassword), false); resp.StatusCode != 201 {
				t.Fatalf("first use: %d %v", resp.StatusCode, body)
			}
			resp, body := apitest.NewBrowser(t, ts).Send("POST", "/api/signup/"+id+"/", apitest.InviteSignupBody("Eve", "eve-chose-this-password-1"), false)
			apitest.WantRefused(t, "replayed invite", resp, body, 400)
			if resp, _ := apitest.NewBrowser(t, ts).Login("replay@example.com", "eve-chose-this-password-1"); resp.StatusCode == 200 {
				t.Fatal("the replayed invite set the password")
			}
		})

		secret, _ := apitest.EnableTOTP(t, owner, clock.Now())
		// Backup codes are tried by another user, so that the TOTP
		// failures above do not slow their second factor down.
		_, codes := apitest.EnableTOTP(t, apitest.JoinByInvite(t, ts, owner, "backup@example.com", 1), clock.Now())
		t.Run("TOTP code", func(t *testing.T) {
			clock.Add(30 * time.Second)
			code := clock.Code(secret)
			bs := pendingTwoFactor(t, ts, "owner@example.com", apitest.ResetNewPassword, 2)
			if resp, body := bs[0].Token(code); resp.StatusCode != 200 {
				t.Fatalf("first use: %d %v", resp.StatusCode, body)
			}
			resp, body := bs[1].Token(code)
			apitest.WantCode(t, "replayed TOTP code", resp, body, 400, "2fa_invalid")
			if status, _ := bs[1].Me(); status != 401 {
				t.Fatalf("signed in by a replayed code: %d", status)
			}
		})

		t.Run("backup code", func(t *testing.T) {
			bs := pendingTwoFactor(t, ts, "backup@example.com", apitest.GoodPassword, 2)
			if resp, body := bs[0].Token(codes[0]); resp.StatusCode != 200 {
				t.Fatalf("first use: %d %v", resp.StatusCode, body)
			}
			resp, body := bs[1].Token(codes[0])
			apitest.WantCode(t, "replayed backup code", resp, body, 400, "2fa_invalid")
			if status, _ := bs[1].Me(); status != 401 {
				t.Fatalf("signed in by a replayed code: %d", status)
			}
		})

		t.Run("verification link", func(t *testing.T) {
			vs := apitest.NewServer(t, engine, apitest.Options{Empty: true, VerifyEmail: true})
			if resp, body := apitest.NewBrowser(t, vs).Send("POST", "/api/signup", apitest.SignupBody("grace@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
				t.Fatalf("signup: %d %v", resp.StatusCode, body)
			}
			links := apitest.VerificationLinks(t, vs)
			if len(links) != 1 || links[0] == nil {
				t.Fatalf("links %v", links)
			}
			first := apitest.NewBrowser(t, vs)
			if resp, body := first.Send("POST", "/api/users/verify_email/", apitest.VerifyBody(links[0][1], links[0][2]), false); resp.StatusCode != 200 {
				t.Fatalf("first use: %d %v", resp.StatusCode, body)
			}
			second := apitest.NewBrowser(t, vs)
			resp, body := second.Send("POST", "/api/users/verify_email/", apitest.VerifyBody(links[0][1], links[0][2]), false)
			apitest.WantRefused(t, "replayed verification link", resp, body, 400)
			if status, _ := second.Me(); status != 401 {
				t.Fatalf("signed in by a replayed link: %d", status)
			}
		})
	})
}

// TestAttackRaceSingleUseTokens: the same single-use token sent by many
// clients at once is accepted exactly once: a password-reset token, an
// invite, an email-verification link, a TOTP code and a backup code.
// (Each request of a race is built before any is sent, and all are
// released together.)
func TestAttackRaceSingleUseTokens(t *testing.T) {
	t.Parallel()
	const n = 8
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		owner := apitest.OwnerBrowser(t, ts)
		plain := func(int) *http.Client { return http.DefaultClient }

		t.Run("invite", func(t *testing.T) {
			id := apitest.MustInvite(t, owner, "race@example.com", 1)
			got := raceStatuses(t, n, plain, func(i int) *http.Request {
				return jsonPost(ts, "/api/signup/"+id+"/", apitest.InviteSignupBody("Ada", fmt.Sprintf("race-password-%d-xyzzy", i)))
			})
			wantOneWinner(t, "invite", got, n, 201, 400)
		})

		secret, _ := apitest.EnableTOTP(t, owner, clock.Now())
		// Backup codes are raced by another user, whose second factor the
		// TOTP race's failures do not slow down.
		_, codes := apitest.EnableTOTP(t, apitest.JoinByInvite(t, ts, owner, "backup@example.com", 1), clock.Now())
		t.Run("TOTP code", func(t *testing.T) {
			clock.Add(30 * time.Second)
			code := clock.Code(secret)
			bs := pendingTwoFactor(t, ts, "owner@example.com", apitest.OwnerPassword, n)
			got := raceStatuses(t, n, func(i int) *http.Client { return bs[i].Client }, func(int) *http.Request {
				return jsonPost(ts, "/api/login/token/", apitest.TokenBody(code))
			})
			wantOneWinner(t, "TOTP code", got, n, 200, 400, 429)
		})

		t.Run("backup code", func(t *testing.T) {
			bs := pendingTwoFactor(t, ts, "backup@example.com", apitest.GoodPassword, n)
			got := raceStatuses(t, n, func(i int) *http.Client { return bs[i].Client }, func(int) *http.Request {
				return jsonPost(ts, "/api/login/token/", apitest.TokenBody(codes[0]))
			})
			wantOneWinner(t, "backup code", got, n, 200, 400, 429) // 429: a refusal that slows guessing
		})

		t.Run("reset token", func(t *testing.T) {
			tok := apitest.RequestReset(t, ts, "owner@example.com")
			got := raceStatuses(t, n, plain, func(i int) *http.Request {
				in, _ := json.Marshal(map[string]string{"token": tok, "password": fmt.Sprintf("race-reset-password-%d-q", i)})
				return jsonPost(ts, "/api/reset/"+ts.User.UUID, string(in))
			})
			wantOneWinner(t, "reset token", got, n, 200, 400)
		})

		t.Run("verification link", func(t *testing.T) {
			vs := apitest.NewServer(t, engine, apitest.Options{Empty: true, VerifyEmail: true})
			if resp, body := apitest.NewBrowser(t, vs).Send("POST", "/api/signup", apitest.SignupBody("grace@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
				t.Fatalf("signup: %d %v", resp.StatusCode, body)
			}
			links := apitest.VerificationLinks(t, vs)
			if len(links) != 1 || links[0] == nil {
				t.Fatalf("links %v", links)
			}
			got := raceStatuses(t, n, plain, func(int) *http.Request {
				return jsonPost(vs, "/api/users/verify_email/", apitest.VerifyBody(links[0][1], links[0][2]))
			})
			wantOneWinner(t, "verification link", got, n, 200, 400)
		})
	})
}
