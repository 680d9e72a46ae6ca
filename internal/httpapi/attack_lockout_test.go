package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// testRedisCounters returns Redis counters under a key prefix of the test's
// own, removed when the test ends.
func testRedisCounters(t *testing.T) *ratelimit.Redis {
	t.Helper()
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	prefix := "gatehouse:test:" + t.Name() + ":" + apitest.StoretestSuffix(t) + ":"
	t.Cleanup(func() {
		keys, _ := c.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(context.Background(), keys...)
		}
		c.Close()
	})
	r := ratelimit.NewRedis(c)
	r.Prefix = prefix
	return r
}

// forEachCounterStore runs fn on SQLite and PostgreSQL with counters in the
// database, and on PostgreSQL with counters in Redis.
func forEachCounterStore(t *testing.T, fn func(t *testing.T, engine store.Engine, counters func(t *testing.T) ratelimit.Counters)) {
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		fn(t, engine, func(*testing.T) ratelimit.Counters { return nil })
	})
	t.Run("redis", func(t *testing.T) {
		fn(t, store.Postgres, func(t *testing.T) ratelimit.Counters { return testRedisCounters(t) })
	})
}

// loginBurst sends the logins at once, one goroutine each, and returns the
// answers' codes ("ok" for a 200) in the order of passwords.
func loginBurst(t *testing.T, url, email string, passwords []string, header ...string) []string {
	t.Helper()
	return loginBurstTo(t, []string{url}, email, passwords, header...)
}

// loginBurstTo is loginBurst over several servers, taking turns.
func loginBurstTo(t *testing.T, urls []string, email string, passwords []string, header ...string) []string {
	t.Helper()
	codes := make([]string, len(passwords))
	errs := make([]error, len(passwords))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, pw := range passwords {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
			req, _ := http.NewRequest("POST", urls[i%len(urls)]+"/api/login/", strings.NewReader(string(body)))
			req.Header.Set("Content-Type", "application/json")
			for j := 0; j+1 < len(header); j += 2 {
				req.Header.Set(header[j], header[j+1])
			}
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
			if resp.StatusCode == 200 {
				codes[i] = "ok"
			}
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

// TestAttackLockoutConcurrentGuesses: at most AXES_FAILURE_LIMIT (5) wrong
// passwords are ever checked per (email, address), however many arrive at once.
func TestAttackLockoutConcurrentGuesses(t *testing.T) {
	t.Parallel()
	forEachCounterStore(t, func(t *testing.T, engine store.Engine, counters func(*testing.T) ratelimit.Counters) {
		var pw apitest.CountingPasswords
		ts := apitest.NewServer(t, engine, apitest.Counted(apitest.Options{Counters: counters(t)}, &pw))
		wrong := make([]string, 40)
		for i := range wrong {
			wrong[i] = "wrong guess " + string(rune('a'+i%26))
		}
		codes := loginBurst(t, ts.URL, "owner@example.com", wrong)
		got := apitest.Tally(codes)
		t.Logf("40 concurrent wrong logins: %d checked guesses (\"invalid credentials\" answers: %d), answers %v",
			pw.Checks.Load(), got["invalid_credentials"], got)
		if n := pw.Checks.Load(); n > 5 {
			t.Errorf("%d passwords checked, want at most 5", n)
		}
		if got["invalid_credentials"] > 5 || got["invalid_credentials"]+got["too_many_failed_attempts"]+got["server_busy"] != len(codes) {
			t.Errorf("answers %v: want at most 5 invalid_credentials, the rest locked or busy", got)
		}
		before := pw.Checks.Load()
		b := apitest.NewBrowser(t, ts)
		if resp, body := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 403 || body["code"] != "too_many_failed_attempts" {
			t.Fatalf("right password after the burst: %d %v, want the lockout", resp.StatusCode, body)
		}
		if pw.Checks.Load() != before {
			t.Fatal("the locked login checked the password")
		}
	})
}

// TestAttackLockoutBurstWithRightPassword: a right password hidden in a burst
// of wrong ones does not buy more than 5 checks, and once locked it is refused.
func TestAttackLockoutBurstWithRightPassword(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		var pw apitest.CountingPasswords
		ts := apitest.NewServer(t, engine, apitest.Counted(apitest.Options{}, &pw))
		// Four failures first: one check is left.
		b := apitest.NewBrowser(t, ts)
		for i := 0; i < 4; i++ {
			if resp, body := b.Login("owner@example.com", "wrong guess"); resp.StatusCode != 400 {
				t.Fatalf("failure %d: %d %v", i+1, resp.StatusCode, body)
			}
		}
		burst := make([]string, 30)
		for i := range burst {
			burst[i] = "wrong guess"
		}
		burst[29] = apitest.OwnerPassword
		codes := loginBurst(t, ts.URL, "owner@example.com", burst)
		n := pw.Checks.Load()
		if codes[29] != "ok" {
			if n > 5 {
				t.Fatalf("%d passwords checked (answers %v), want at most 5", n, apitest.Tally(codes))
			}
		} else {
			// The right password won the last place of the window. A
			// successful sign-in starts a new window (the counter is reset
			// on success), so the guesses still arriving may use at most
			// its 5 places: 4 + 1 + 5, where the old code checked all 34.
			if n > 10 {
				t.Fatalf("%d passwords checked after the right one signed in (answers %v), want at most 10", n, apitest.Tally(codes))
			}
		}
	})
}

// TestAttackLockoutIPv6Rotation: addresses of one IPv6 /64 count as one
// address, for the login lockout and the signup throttle alike.
func TestAttackLockoutIPv6Rotation(t *testing.T) {
	t.Parallel()
	forEachCounterStore(t, func(t *testing.T, engine store.Engine, counters func(*testing.T) ratelimit.Counters) {
		var pw apitest.CountingPasswords
		ts := apitest.NewServer(t, engine, apitest.Counted(apitest.Options{Trusted: "127.0.0.1", Behind: true, MultiOrg: true, SignupRate: "2/hour", Counters: counters(t)}, &pw))
		from := func(ip string) *apitest.Browser {
			b := apitest.NewBrowser(t, ts)
			b.Extra = []string{"X-Forwarded-For", ip}
			return b
		}
		for i := range 8 {
			ip := "2001:db8:7:7:" + strconv.Itoa(i+1) + "::" + strconv.Itoa(i+100)
			for range 4 {
				from(ip).Login("owner@example.com", "wrong guess")
			}
		}
		if n := pw.Checks.Load(); n != 5 {
			t.Fatalf("8 addresses of one /64 got %d checks, want 5", n)
		}
		// Another /64 is another address; an IPv4-mapped address is its IPv4 one.
		if resp, body := from("2001:db8:7:8::1").Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("a neighbouring /64 was locked too: %d %v", resp.StatusCode, body)
		}
		for range 5 {
			from("192.0.2.44").Login("owner@example.com", "wrong guess")
		}
		if resp, body := from("::ffff:192.0.2.44").Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 403 {
			t.Fatalf("IPv4-mapped address escaped the IPv4 lockout: %d %v", resp.StatusCode, body)
		}

		// Signup throttle (2 successful signups per hour per address): a
		// third address of the same /64 is throttled.
		for i, want := range []int{201, 201, 429} {
			email := "v6-" + strconv.Itoa(i) + "@example.com"
			resp, body := from("2001:db8:9:9::"+strconv.Itoa(i+1)).Send("POST", "/api/signup/", apitest.SignupBody(email, apitest.GoodPassword), false)
			if resp.StatusCode != want {
				t.Fatalf("signup %d from the /64: %d %v, want %d", i+1, resp.StatusCode, body, want)
			}
		}
	})
}

// TestAttackLockoutAccountCeiling: at most 20 wrong passwords per email are
// checked in a cool-off from all addresses together; the owner's completed
// password reset lifts that lock.
func TestAttackLockoutAccountCeiling(t *testing.T) {
	t.Parallel()
	forEachCounterStore(t, func(t *testing.T, engine store.Engine, counters func(*testing.T) ratelimit.Counters) {
		var pw apitest.CountingPasswords
		ts := apitest.NewServer(t, engine, apitest.Counted(apitest.Options{Trusted: "127.0.0.1", Behind: true, Counters: counters(t)}, &pw))
		from := func(ip string) *apitest.Browser {
			b := apitest.NewBrowser(t, ts)
			b.Extra = []string{"X-Forwarded-For", ip}
			return b
		}
		for i := range 30 {
			for range 2 {
				from("198.51.100."+strconv.Itoa(i+1)).Login("owner@example.com", "wrong guess")
			}
		}
		if n := pw.Checks.Load(); n != ratelimit.PerAccountFailureLimit {
			t.Fatalf("30 addresses got %d checks, want %d", n, ratelimit.PerAccountFailureLimit)
		}
		owner := from("203.0.113.200")
		if resp, body := owner.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 403 || body["code"] != "too_many_failed_attempts" {
			t.Fatalf("owner from a fresh address during the account lock: %d %v", resp.StatusCode, body)
		}
		token := apitest.RequestReset(t, ts, "owner@example.com")
		if code, body := apitest.CompleteReset(t, ts, ts.User.UUID, token, "a brand new passphrase 42"); code != 200 {
			t.Fatalf("reset: %d %v", code, body)
		}
		if resp, body := owner.Login("owner@example.com", "a brand new passphrase 42"); resp.StatusCode != 200 {
			t.Fatalf("after the reset: %d %v", resp.StatusCode, body)
		}
	})
}

// TestAttackLockoutCurrentPassword: wrong current passwords of a signed-in
// user (password change) count toward the login lockout of their email.
func TestAttackLockoutCurrentPassword(t *testing.T) {
	t.Parallel()
	forEachCounterStore(t, func(t *testing.T, engine store.Engine, counters func(*testing.T) ratelimit.Counters) {
		var pw apitest.CountingPasswords
		ts := apitest.NewServer(t, engine, apitest.Counted(apitest.Options{Counters: counters(t)}, &pw))
		b := apitest.NewBrowser(t, ts)
		if resp, body := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("login: %d %v", resp.StatusCode, body)
		}
		before := pw.Checks.Load()
		change := func(current string) (*http.Response, map[string]any) {
			body, _ := json.Marshal(map[string]string{"current_password": current, "password": "another long passphrase 7"})
			return b.Send("PATCH", "/api/users/@me/", string(body), true)
		}
		var codes []string
		for range 32 {
			_, body := change("wrong current password")
			codes = append(codes, body["code"].(string))
		}
		got := apitest.Tally(codes)
		if n := pw.Checks.Load() - before; n != 5 || got["incorrect_password"] != 4 || got["too_many_failed_attempts"] != 28 {
			t.Fatalf("32 wrong current passwords: %d checked, answers %v; want 5 checked, 4 incorrect_password, then the lockout", n, got)
		}
		if resp, body := change(apitest.OwnerPassword); resp.StatusCode != 403 || body["code"] != "too_many_failed_attempts" {
			t.Fatalf("right current password while locked: %d %v", resp.StatusCode, body)
		}
		if resp, body := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 403 {
			t.Fatalf("login from the same address while locked: %d %v", resp.StatusCode, body)
		}
	})
}

// TestAttackLockoutConcurrentGuessesTwoInstances: the 5 checks per (email,
// address) hold across two instances sharing PostgreSQL (counters in the
// database, then in Redis), with the guesses split between them.
func TestAttackLockoutConcurrentGuessesTwoInstances(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "two instances and a burst of concurrent guesses on each engine and counter store")
	run := func(t *testing.T, counters ratelimit.Counters) {
		opts := storetest.Shared(t, store.Postgres)
		var pa, pb apitest.CountingPasswords
		a := apitest.NewServer(t, store.Postgres, apitest.Counted(apitest.Options{StoreOpts: &opts, Counters: counters}, &pa))
		b := apitest.NewServer(t, store.Postgres, apitest.Counted(apitest.Options{StoreOpts: &opts, Counters: counters}, &pb))
		wrong := make([]string, 40)
		for i := range wrong {
			wrong[i] = "wrong guess"
		}
		codes := loginBurstTo(t, []string{a.URL, b.URL}, "owner@example.com", wrong)
		checks := pa.Checks.Load() + pb.Checks.Load()
		got := apitest.Tally(codes)
		t.Logf("40 concurrent wrong logins over 2 instances: %d checked, answers %v", checks, got)
		if checks > 5 || got["invalid_credentials"] > 5 || got["invalid_credentials"]+got["too_many_failed_attempts"]+got["server_busy"] != 40 {
			t.Fatalf("%d passwords checked, answers %v: want at most 5 checks, the rest locked or busy", checks, got)
		}
		for _, ts := range []*apitest.Server{a, b} {
			if resp, body := apitest.NewBrowser(t, ts).Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 403 {
				t.Fatalf("right password after the burst: %d %v", resp.StatusCode, body)
			}
		}
	}
	t.Run("postgres counters", func(t *testing.T) { run(t, nil) })
	t.Run("redis counters", func(t *testing.T) { run(t, testRedisCounters(t)) })
}
