package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

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
func jsonPost(ts *testServer, path, body string) *http.Request {
	req, _ := http.NewRequest("POST", ts.url+path, strings.NewReader(body))
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

func tokenBody(code string) string {
	raw, _ := json.Marshal(map[string]string{"token": code})
	return string(raw)
}

// pendingTwoFactor returns n browsers that passed the password step of
// email's login and wait for the second factor.
func pendingTwoFactor(t *testing.T, ts *testServer, email, pw string, n int) []*browser {
	t.Helper()
	out := make([]*browser, n)
	for i := range out {
		out[i] = newBrowser(t, ts)
		if resp, body := out[i].login(email, pw); resp.StatusCode != 401 || body["code"] != "2fa_required" {
			t.Fatalf("password step %d: %d %v", i, resp.StatusCode, body)
		}
	}
	return out
}

// TestAttackReplaySingleUseTokens: a password-reset token, an invite, an
// email-verification link, a TOTP code and a backup code each work once;
// the second use is refused and changes nothing.
func TestAttackReplaySingleUseTokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := newTestClock()
		ts := newTestServer(t, engine, serverOptions{now: clock.now})

		t.Run("reset token", func(t *testing.T) {
			tok := requestReset(t, ts, "owner@example.com")
			if st, body := completeReset(t, ts, ts.user.UUID, tok, resetNewPassword); st != 200 {
				t.Fatalf("first use: %d %v", st, body)
			}
			st, body := completeReset(t, ts, ts.user.UUID, tok, "second-password-by-replay-9")
			wantInvalidToken(t, "replayed reset token", st, body)
			st, body = validateReset(t, ts, ts.user.UUID, tok)
			wantInvalidToken(t, "validating a used reset token", st, body)
			if resp, _ := newBrowser(t, ts).login("owner@example.com", "second-password-by-replay-9"); resp.StatusCode == 200 {
				t.Fatal("the replayed reset set the password")
			}
			if resp, _ := newBrowser(t, ts).login("owner@example.com", resetNewPassword); resp.StatusCode != 200 {
				t.Fatalf("the first reset's password: %d", resp.StatusCode)
			}
		})
		// The reset ended every session: sign in with the new password.
		owner := newBrowser(t, ts)
		if resp, body := owner.login("owner@example.com", resetNewPassword); resp.StatusCode != 200 {
			t.Fatalf("owner login: %d %v", resp.StatusCode, body)
		}

		t.Run("invite", func(t *testing.T) {
			id := mustInvite(t, owner, "replay@example.com", 1)
			if resp, body := newBrowser(t, ts).send("POST", "/api/signup/"+id+"/", inviteSignupBody("Ada", goodPassword), false); resp.StatusCode != 201 {
				t.Fatalf("first use: %d %v", resp.StatusCode, body)
			}
			resp, body := newBrowser(t, ts).send("POST", "/api/signup/"+id+"/", inviteSignupBody("Eve", "eve-chose-this-password-1"), false)
			wantRefused(t, "replayed invite", resp, body, 400)
			if resp, _ := newBrowser(t, ts).login("replay@example.com", "eve-chose-this-password-1"); resp.StatusCode == 200 {
				t.Fatal("the replayed invite set the password")
			}
		})

		secret, _ := enableTOTP(t, owner, clock.now())
		// Backup codes are tried by another user, so that the TOTP
		// failures above do not slow their second factor down.
		_, codes := enableTOTP(t, joinByInvite(t, ts, owner, "backup@example.com", 1), clock.now())
		t.Run("TOTP code", func(t *testing.T) {
			clock.add(30 * time.Second)
			code := clock.code(secret)
			bs := pendingTwoFactor(t, ts, "owner@example.com", resetNewPassword, 2)
			if resp, body := bs[0].token(code); resp.StatusCode != 200 {
				t.Fatalf("first use: %d %v", resp.StatusCode, body)
			}
			resp, body := bs[1].token(code)
			wantCode(t, "replayed TOTP code", resp, body, 400, "2fa_invalid")
			if status, _ := bs[1].me(); status != 401 {
				t.Fatalf("signed in by a replayed code: %d", status)
			}
		})

		t.Run("backup code", func(t *testing.T) {
			bs := pendingTwoFactor(t, ts, "backup@example.com", goodPassword, 2)
			if resp, body := bs[0].token(codes[0]); resp.StatusCode != 200 {
				t.Fatalf("first use: %d %v", resp.StatusCode, body)
			}
			resp, body := bs[1].token(codes[0])
			wantCode(t, "replayed backup code", resp, body, 400, "2fa_invalid")
			if status, _ := bs[1].me(); status != 401 {
				t.Fatalf("signed in by a replayed code: %d", status)
			}
		})

		t.Run("verification link", func(t *testing.T) {
			vs := newTestServer(t, engine, serverOptions{empty: true, verifyEmail: true})
			if resp, body := newBrowser(t, vs).send("POST", "/api/signup", signupBody("grace@example.com", goodPassword), false); resp.StatusCode != 201 {
				t.Fatalf("signup: %d %v", resp.StatusCode, body)
			}
			links := verificationLinks(t, vs)
			if len(links) != 1 || links[0] == nil {
				t.Fatalf("links %v", links)
			}
			first := newBrowser(t, vs)
			if resp, body := first.send("POST", "/api/users/verify_email/", verifyBody(links[0][1], links[0][2]), false); resp.StatusCode != 200 {
				t.Fatalf("first use: %d %v", resp.StatusCode, body)
			}
			second := newBrowser(t, vs)
			resp, body := second.send("POST", "/api/users/verify_email/", verifyBody(links[0][1], links[0][2]), false)
			wantRefused(t, "replayed verification link", resp, body, 400)
			if status, _ := second.me(); status != 401 {
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
	const n = 8
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := newTestClock()
		ts := newTestServer(t, engine, serverOptions{now: clock.now})
		owner := ownerBrowser(t, ts)
		plain := func(int) *http.Client { return http.DefaultClient }

		t.Run("invite", func(t *testing.T) {
			id := mustInvite(t, owner, "race@example.com", 1)
			got := raceStatuses(t, n, plain, func(i int) *http.Request {
				return jsonPost(ts, "/api/signup/"+id+"/", inviteSignupBody("Ada", fmt.Sprintf("race-password-%d-xyzzy", i)))
			})
			wantOneWinner(t, "invite", got, n, 201, 400)
		})

		secret, _ := enableTOTP(t, owner, clock.now())
		// Backup codes are raced by another user, whose second factor the
		// TOTP race's failures do not slow down.
		_, codes := enableTOTP(t, joinByInvite(t, ts, owner, "backup@example.com", 1), clock.now())
		t.Run("TOTP code", func(t *testing.T) {
			clock.add(30 * time.Second)
			code := clock.code(secret)
			bs := pendingTwoFactor(t, ts, "owner@example.com", ownerPassword, n)
			got := raceStatuses(t, n, func(i int) *http.Client { return bs[i].client }, func(int) *http.Request {
				return jsonPost(ts, "/api/login/token/", tokenBody(code))
			})
			wantOneWinner(t, "TOTP code", got, n, 200, 400, 429)
		})

		t.Run("backup code", func(t *testing.T) {
			bs := pendingTwoFactor(t, ts, "backup@example.com", goodPassword, n)
			got := raceStatuses(t, n, func(i int) *http.Client { return bs[i].client }, func(int) *http.Request {
				return jsonPost(ts, "/api/login/token/", tokenBody(codes[0]))
			})
			wantOneWinner(t, "backup code", got, n, 200, 400, 429) // 429: a refusal that slows guessing
		})

		t.Run("reset token", func(t *testing.T) {
			tok := requestReset(t, ts, "owner@example.com")
			got := raceStatuses(t, n, plain, func(i int) *http.Request {
				in, _ := json.Marshal(map[string]string{"token": tok, "password": fmt.Sprintf("race-reset-password-%d-q", i)})
				return jsonPost(ts, "/api/reset/"+ts.user.UUID, string(in))
			})
			wantOneWinner(t, "reset token", got, n, 200, 400)
		})

		t.Run("verification link", func(t *testing.T) {
			vs := newTestServer(t, engine, serverOptions{empty: true, verifyEmail: true})
			if resp, body := newBrowser(t, vs).send("POST", "/api/signup", signupBody("grace@example.com", goodPassword), false); resp.StatusCode != 201 {
				t.Fatalf("signup: %d %v", resp.StatusCode, body)
			}
			links := verificationLinks(t, vs)
			if len(links) != 1 || links[0] == nil {
				t.Fatalf("links %v", links)
			}
			got := raceStatuses(t, n, plain, func(int) *http.Request {
				return jsonPost(vs, "/api/users/verify_email/", verifyBody(links[0][1], links[0][2]))
			})
			wantOneWinner(t, "verification link", got, n, 200, 400)
		})
	})
}
