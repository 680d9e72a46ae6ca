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

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

const codeFailuresSubject = "Repeated wrong 2FA codes for your account"

// TestAttackTOTPGuessing: 10 wrong codes end a pending login; a user's wrong
// codes meet a growing delay, even the right code waits it out, and the
// owner is emailed after repeated failures.
func TestAttackTOTPGuessing(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		clock := apitest.NewClock()
		ts := apitest.NewServer(t, engine, apitest.Options{Now: clock.Now})
		secret, _ := apitest.EnableTOTP(t, apitest.OwnerBrowser(t, ts), clock.Now())
		clock.Add(30 * time.Second)
		// A code seven steps ahead of the clock is always wrong.
		wrong := func() string { return mfa.Code(secret, mfa.Step(clock.Now())+7) }

		b := apitest.NewBrowser(t, ts)
		b.Login("owner@example.com", apitest.OwnerPassword)
		for i := 0; i < 10; i++ {
			clock.Add(ratelimit.TwoFactorDelay(int64(i)))
			resp, body := b.Token(wrong())
			want := "2fa_invalid"
			if i == 9 {
				want = "2fa_too_many_attempts"
			}
			apitest.WantCode(t, fmt.Sprintf("wrong code %d", i+1), resp, body, 400, want)
			if mails := len(apitest.MailsWithSubject(ts, codeFailuresSubject)); mails != map[bool]int{true: 1, false: 0}[i >= 4] {
				t.Fatalf("after %d wrong codes: %d notices, want one from the 5th on", i+1, mails)
			}
		}
		// The pending login has ended: not even the right code finishes it.
		clock.Add(61 * time.Second)
		resp, body := b.Token(clock.Code(secret))
		apitest.WantCode(t, "right code after 10 wrong ones", resp, body, 401, "not_authenticated")
		m := apitest.MailsWithSubject(ts, codeFailuresSubject)[0]
		if m.To != "owner@example.com" || !strings.Contains(m.Text, "5 times") {
			t.Fatalf("notice %+v", m)
		}

		// A new pending login: the user's delay goes on (10 wrong codes so
		// far): one code is checked, the next waits, even the right one.
		b2 := apitest.NewBrowser(t, ts)
		b2.Login("owner@example.com", apitest.OwnerPassword)
		resp, body = b2.Token(wrong())
		apitest.WantCode(t, "11th wrong code", resp, body, 400, "2fa_invalid")
		resp, body = b2.Token(clock.Code(secret))
		apitest.WantCode(t, "right code within the delay", resp, body, 400, "2fa_too_many_attempts")
		if resp.Header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After on the delay")
		}
		clock.Add(ratelimit.TwoFactorDelay(11))
		if resp, body := b2.Token(clock.Code(secret)); resp.StatusCode != 200 {
			t.Fatalf("right code after the delay: %d %v", resp.StatusCode, body)
		}

		// Success cleared the delay; concurrent guesses on a new pending
		// login get the free codes and one more at most.
		clock.Add(61 * time.Second)
		b3 := apitest.NewBrowser(t, ts)
		b3.Login("owner@example.com", apitest.OwnerPassword)
		codes := codeBurst(t, ts.URL, b3.Cookie(httpauth.PendingLoginCookie), wrong(), 20)
		t.Logf("20 concurrent wrong codes: %v", apitest.Tally(codes))
		if got := apitest.Tally(codes); got["2fa_invalid"] > ratelimit.TwoFactorFreeFailures+1 {
			t.Fatalf("20 concurrent wrong codes: %v, want at most %d checked", got, ratelimit.TwoFactorFreeFailures+1)
		}
	})
}

// codeBurst sends n second-step codes at once with the pending-login
// cookie and returns the answers' codes.
func codeBurst(t *testing.T, url, pending, code string, n int) []string {
	t.Helper()
	codes := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw, _ := json.Marshal(map[string]string{"token": code})
			req, _ := http.NewRequest("POST", url+"/api/login/token/", strings.NewReader(string(raw)))
			req.Header.Set("Content-Type", "application/json")
			req.AddCookie(&http.Cookie{Name: httpauth.PendingLoginCookie, Value: pending})
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			var out struct{ Code string }
			json.NewDecoder(resp.Body).Decode(&out)
			codes[i] = out.Code
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return codes
}
