package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// scrapeMetrics reads the metrics listener's /metrics.
func scrapeMetrics(t *testing.T, addr string) (map[string]float64, string) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("scrape: %d %q\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return metrics.ParseText(string(body)), string(body)
}

func postJSON(t *testing.T, url, body string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetricsListener runs the server with METRICS_ADDR, drives logins into
// a lockout and a throttle, and checks that the metrics listener counts
// them, by route pattern and outcome, while the public port has no
// /metrics.
func TestMetricsListener(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel() // each engine has its own database and server
			env, dir, _ := engineEnv(t, engine)
			createUser(t, env, dir)
			metricsAddr := freeAddr(t)
			s := startServer(t, append(env, "METRICS_ADDR="+metricsAddr), dir)
			base := "http://" + s.addr

			before, _ := scrapeMetrics(t, metricsAddr)
			victim := fmt.Sprintf("victim-%d@example.com", time.Now().UnixNano())
			codes := []int{}
			for range 6 {
				codes = append(codes, postJSON(t, base+"/api/login/", `{"email":"`+victim+`","password":"wrong password"}`))
			}
			// 4 failures; the 5th reaches the limit and is answered with the
			// lockout; the 6th is refused as locked.
			if fmt.Sprint(codes) != "[400 400 400 400 403 403]" {
				t.Fatalf("login codes %v", codes)
			}
			if c := postJSON(t, base+"/api/login", `{"email":"ops@example.com","password":"correct horse battery staple"}`); c != 200 {
				t.Fatalf("good login: %d", c)
			}
			reset := fmt.Sprintf(`{"email":"reset-%d@example.com"}`, time.Now().UnixNano())
			for range 3 {
				if c := postJSON(t, base+"/api/reset/", reset); c != 204 {
					t.Fatalf("reset request: %d", c)
				}
			}
			if c := postJSON(t, base+"/api/reset/", reset); c != 429 {
				t.Fatalf("4th reset request: %d, want 429", c)
			}

			// The public port does not serve metrics, with or without a slash.
			for _, p := range []string{"/metrics", "/metrics/"} {
				resp, err := http.Get(base + p)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 404 || strings.Contains(string(body), "gatehouse_") {
					t.Fatalf("GET %s on the public port: %d\n%s", p, resp.StatusCode, body)
				}
			}
			// The metrics listener serves nothing else.
			resp, err := http.Get("http://" + metricsAddr + "/api/users/@me")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 404 {
				t.Fatalf("API on the metrics port: %d", resp.StatusCode)
			}

			after, text := scrapeMetrics(t, metricsAddr)
			delta := func(series string) float64 { return after[series] - before[series] }
			for series, want := range map[string]float64{
				`gatehouse_logins_total{method="password",outcome="failure"}`:                                4,
				`gatehouse_logins_total{method="password",outcome="locked"}`:                                 2,
				`gatehouse_logins_total{method="password",outcome="success"}`:                                1,
				`gatehouse_login_lockouts_total{scope="email"}`:                                              1,
				`gatehouse_http_requests_total{route="/api/login",method="POST",code="400"}`:                 4,
				`gatehouse_http_requests_total{route="/api/login",method="POST",code="403"}`:                 2,
				`gatehouse_http_requests_total{route="/api/login",method="POST",code="200"}`:                 1,
				`gatehouse_http_request_duration_seconds_count{route="/api/login",method="POST"}`:            7,
				`gatehouse_http_requests_total{route="/api/reset",method="POST",code="429"}`:                 1,
				`gatehouse_http_throttled_total{route="/api/reset"}`:                                         1,
				`gatehouse_http_requests_total{route="/",method="GET",code="404"}`:                           2,
				`gatehouse_http_request_duration_seconds_bucket{route="/api/login",method="POST",le="+Inf"}`: 7,
			} {
				if got := delta(series); got != want {
					t.Errorf("%s moved by %v, want %v", series, got, want)
				}
			}
			if after[`gatehouse_build_info{version="dev"}`] != 1 {
				t.Errorf("no build info in:\n%s", text)
			}
			// Labels are route patterns: no email, path or token leaks into
			// the metrics.
			for _, leak := range []string{victim, "ops@example.com", "/metrics/", "reset-"} {
				if strings.Contains(text, leak) {
					t.Fatalf("metrics contain %q", leak)
				}
			}
		})
	}
}

func TestMetricsAddrMustDifferFromAddr(t *testing.T) {
	t.Parallel()
	env, dir, _ := engineEnv(t, store.SQLite)
	addr := freeAddr(t)
	for _, metricsAddr := range []string{addr, "0.0.0.0:" + addr[strings.LastIndexByte(addr, ':')+1:]} {
		_, stderr, code := runCmd(t, env, "serve", "--addr", addr, "--metrics-addr", metricsAddr, "--data-dir", dir)
		if code != 2 || !strings.Contains(stderr, "--metrics-addr must differ from --addr") {
			t.Fatalf("metrics on the public port %s: exit %d\n%s", metricsAddr, code, stderr)
		}
	}
	_, stderr, code := runCmd(t, append(env, "METRICS_ADDR=9102"), "serve", "--addr", addr, "--data-dir", dir)
	if code != 2 || !strings.Contains(stderr, "METRICS_ADDR") {
		t.Fatalf("bad METRICS_ADDR: exit %d\n%s", code, stderr)
	}
}
