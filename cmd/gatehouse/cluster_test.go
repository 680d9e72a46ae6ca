package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// cluster is three gatehouse processes on one PostgreSQL and one Redis,
// behind a round-robin reverse proxy run by the test.
type cluster struct {
	servers []*server
	proxy   *httptest.Server
	hits    []atomic.Int64 // requests each instance received
	client  string         // the client address the proxy forwards
	token   string         // the project's public token
	env     []string
	dir     string
}

func startCluster(t *testing.T, n int) *cluster {
	t.Helper()
	redisURL := testenv.RedisURL(t)
	env, dir, _ := engineEnv(t, store.Postgres)
	token := createUser(t, env, dir)
	// The proxy is the only trusted hop; the client address it forwards is
	// a fresh one per run, so Redis counters of earlier runs do not count.
	env = append(env, "REDIS_URL="+redisURL, "IS_BEHIND_PROXY=true", "TRUSTED_PROXIES=127.0.0.1/32")
	c := &cluster{hits: make([]atomic.Int64, n), token: token, env: env, dir: dir,
		client: fmt.Sprintf("10.%d.%d.%d", rand.IntN(250)+1, rand.IntN(250)+1, rand.IntN(250)+1)}
	var targets []*url.URL
	for range n {
		s := startServer(t, env, dir)
		c.servers = append(c.servers, s)
		targets = append(targets, &url.URL{Scheme: "http", Host: s.addr})
	}
	var next atomic.Int64
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		i := int(next.Add(1)-1) % n
		c.hits[i].Add(1)
		pr.SetURL(targets[i])
		pr.Out.Header.Set("X-Forwarded-For", c.client)
	}}
	c.proxy = httptest.NewServer(proxy)
	t.Cleanup(c.proxy.Close)

	t.Cleanup(func() {
		opt, _ := redis.ParseURL(redisURL)
		rc := redis.NewClient(opt)
		defer rc.Close()
		rc.Del(context.Background(), ratelimit.RedisPrefix+ratelimit.Key("login-address", c.client))
	})
	return c
}

// call sends one request through the proxy with the given cookies and
// returns the status, the body and the cookies set.
func (c *cluster) call(t *testing.T, method, path, body string, cookies map[string]string) (int, string, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(method, c.proxy.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	if tok, ok := cookies[csrfCookieName]; ok {
		req.Header.Set("X-CSRFToken", tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	set := map[string]string{}
	for _, ck := range resp.Cookies() {
		set[ck.Name] = ck.Value
	}
	return resp.StatusCode, string(b), set
}

const csrfCookieName = "posthog_csrftoken"

// TestClusterSharesSessionsAndLockouts: a session made on one instance is
// valid on every other and ends everywhere at logout; failed logins spread
// over the instances add up to one lockout that every instance enforces.
func TestClusterSharesSessionsAndLockouts(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "starts three real server processes on one database and spreads logins over them")
	c := startCluster(t, 3)

	// Sessions.
	code, body, set := c.call(t, "POST", "/api/login", `{"email":"ops@example.com","password":"correct horse battery staple"}`, nil)
	if code != 200 || set["sessionid"] == "" || set[csrfCookieName] == "" {
		t.Fatalf("login: %d %s %v", code, body, set)
	}
	jar := map[string]string{"sessionid": set["sessionid"], csrfCookieName: set[csrfCookieName]}
	for i := range 3 {
		if code, body, _ := c.call(t, "GET", "/api/users/@me", "", jar); code != 200 || !strings.Contains(body, "ops@example.com") {
			t.Fatalf("@me on instance %d: %d %s", (i+1)%3, code, body)
		}
	}
	if code, body, _ := c.call(t, "POST", "/api/logout", "", jar); code != 200 {
		t.Fatalf("logout: %d %s", code, body)
	}
	for i := range 3 {
		if code, _, _ := c.call(t, "GET", "/api/users/@me", "", jar); code != 401 {
			t.Fatalf("@me after logout, request %d: %d, want 401 on every instance", i, code)
		}
	}

	// Lockouts: failures land on all three instances in turn and add up in
	// Redis; the fifth locks, and every instance refuses the next ones.
	victim := fmt.Sprintf("cluster-%d@example.com", rand.Int64())
	var codes []int
	for range 8 {
		code, _, _ := c.call(t, "POST", "/api/login", `{"email":"`+victim+`","password":"wrong password"}`, nil)
		codes = append(codes, code)
	}
	if fmt.Sprint(codes) != "[400 400 400 400 403 403 403 403]" {
		t.Fatalf("failed logins across instances: %v", codes)
	}
	for i := range c.hits {
		if n := c.hits[i].Load(); n < 3 {
			t.Fatalf("instance %d got %d requests: the proxy did not spread them", i, n)
		}
	}
	// The account that exists is unaffected: its counter is its own.
	if code, body, _ := c.call(t, "POST", "/api/login", `{"email":"ops@example.com","password":"correct horse battery staple"}`, nil); code != 200 {
		t.Fatalf("another account locked too: %d %s", code, body)
	}
}

// TestClusterLockoutConcurrentGuesses: 40 wrong passwords sent at once for
// one email from one address, spread over two instances sharing PostgreSQL
// and Redis, get at most 5 password checks between them; the right password
// is refused afterwards.
func TestClusterLockoutConcurrentGuesses(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs several real server processes on one database")
	c := startCluster(t, 2)
	const email = "ops@example.com"
	emailKey := ratelimit.RedisPrefix + ratelimit.Key("login-email", email, c.client)
	accountKey := ratelimit.RedisPrefix + ratelimit.Key("login-account", email)
	opt, err := redis.ParseURL(testenv.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	t.Cleanup(func() {
		// The account counter outlives the test's random address: forget it.
		rc.Del(context.Background(), emailKey, accountKey)
		rc.Close()
	})
	rc.Del(context.Background(), accountKey)

	codes := make([]int, 40)
	bodies := make([]string, 40)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range codes {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest("POST", c.proxy.URL+"/api/login", strings.NewReader(`{"email":"`+email+`","password":"wrong guess"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			codes[i], bodies[i] = resp.StatusCode, string(b)
		})
	}
	close(start)
	wg.Wait()
	invalid := 0
	for i, code := range codes {
		switch {
		case code == 400 && strings.Contains(bodies[i], `"invalid_credentials"`):
			invalid++
		case code == 403 && strings.Contains(bodies[i], `"too_many_failed_attempts"`), code == 503:
		default:
			t.Fatalf("answer %d: %d %s", i, code, bodies[i])
		}
	}
	// Every checked wrong password stays counted on the (email, address)
	// counter in Redis; refused attempts gave their reservation back.
	checked, err := rc.Get(context.Background(), emailKey).Int64()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("40 concurrent wrong logins over 2 instances: %d checked, %d \"invalid credentials\" answers", checked, invalid)
	if checked > 5 || invalid > 5 {
		t.Fatalf("%d passwords checked, %d invalid_credentials answers; want at most 5", checked, invalid)
	}
	for i := range c.hits {
		if c.hits[i].Load() < 10 {
			t.Fatalf("instance %d got %d requests: the proxy did not spread them", i, c.hits[i].Load())
		}
	}
	if code, body, _ := c.call(t, "POST", "/api/login", `{"email":"`+email+`","password":"correct horse battery staple"}`, nil); code != 403 {
		t.Fatalf("right password after the burst: %d %s", code, body)
	}
}
