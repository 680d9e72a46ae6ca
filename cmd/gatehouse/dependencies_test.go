package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// privateProcess is a dependency this test started itself (never the
// shared services): it may be frozen with SIGSTOP and is always resumed
// and killed when the test ends.
type privateProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// pids are the process and its children (PostgreSQL serves each connection
// from a child of the postmaster, which makes itself a session leader, so
// a process-group signal misses it).
func (p *privateProcess) pids() []int {
	pids := []int{p.cmd.Process.Pid}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may hold spaces.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) > 1 && fields[1] == strconv.Itoa(p.cmd.Process.Pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// freeze stops the process, then its children, until thaw.
func (p *privateProcess) freeze(t *testing.T) {
	t.Helper()
	for _, pid := range p.pids() {
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil && pid == p.cmd.Process.Pid {
			t.Fatalf("SIGSTOP %d: %v", pid, err)
		}
	}
}

// thaw resumes the process and its children.
func (p *privateProcess) thaw(t *testing.T) {
	t.Helper()
	for _, pid := range p.pids() {
		syscall.Kill(pid, syscall.SIGCONT)
	}
}

// startPrivate runs cmd and stops it at the end of t: resumed first if
// frozen, then killed with its children.
func startPrivate(t *testing.T, cmd *exec.Cmd) *privateProcess {
	t.Helper()
	p := &privateProcess{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	go func() { cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		pids := p.pids()
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGCONT)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		<-p.done
	})
	return p
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// waitListening waits, bounded, until addr accepts TCP connections.
func waitListening(t *testing.T, p *privateProcess, addr string, logs *lockedBuffer) {
	t.Helper()
	for i := 0; i < 300; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", p.cmd.Path, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s is not listening on %s:\n%s", p.cmd.Path, addr, logs.String())
}

// startPrivatePostgres initialises a PostgreSQL cluster in a temporary
// directory and runs it on a free loopback port; it returns the cluster
// and its URL. As root, the cluster runs as the postgres user (initdb
// refuses root).
func startPrivatePostgres(t *testing.T) (*privateProcess, string) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		testenv.Unavailable(t, "postgres", "no initdb under /usr/lib/postgresql/*/bin to start a private cluster")
	}
	binDir := filepath.Dir(bins[len(bins)-1])
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Unavailable(t, "postgres", "running as root without a postgres user to run initdb as")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// t.TempDir is private to this user; the cluster's user needs its own.
	dir, err := os.MkdirTemp("", "gatehouse-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, sockets := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	for _, d := range []string{data, sockets} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if cred != nil {
			if err := os.Chown(d, int(cred.Uid), int(cred.Gid)); err != nil {
				t.Fatal(err)
			}
		}
	}
	initdb := exec.Command(filepath.Join(binDir, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := freePort(t)
	logs := &lockedBuffer{}
	cmd := exec.Command(filepath.Join(binDir, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", sockets,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=40")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logs, logs
	p := startPrivate(t, cmd)
	waitListening(t, p, fmt.Sprintf("127.0.0.1:%d", port), logs)
	return p, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// startPrivateRedis runs a redis-server that saves nothing on a free
// loopback port.
func startPrivateRedis(t *testing.T) (*privateProcess, string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		testenv.Unavailable(t, "redis", "no redis-server on the PATH to start a private Redis")
	}
	port := freePort(t)
	logs := &lockedBuffer{}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	cmd.Dir = t.TempDir()
	cmd.Stdout, cmd.Stderr = logs, logs
	p := startPrivate(t, cmd)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, p, addr, logs)
	return p, "redis://" + addr + "/0"
}

// outageAnswer is what the server said to one request during an outage.
type outageAnswer struct {
	status     int
	retryAfter string
	body       string
}

// askDuringOutage sends one request with a client bound far above the
// configured deadlines: without them the request hangs for as long as
// the dependency is frozen, and this fails.
func askDuringOutage(t *testing.T, s *server, method, path, body string) outageAnswer {
	t.Helper()
	a, err := sendDuringOutage(s, method, path, body)
	if err != nil {
		t.Fatalf("%v\n%s", err, s.logs.String())
	}
	return a
}

// askAllDuringOutage sends requests at once, as askDuringOutage does
// each: every one of them waits out its deadline, so together they take
// about as long as one.
func askAllDuringOutage(t *testing.T, s *server, requests []outageRequest) []outageAnswer {
	t.Helper()
	answers := make([]outageAnswer, len(requests))
	errs := make([]error, len(requests))
	var wg sync.WaitGroup
	for i, r := range requests {
		wg.Go(func() { answers[i], errs[i] = sendDuringOutage(s, r.method, r.path, r.body) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%v\n%s", err, s.logs.String())
	}
	return answers
}

// outageRequest is one request askAllDuringOutage sends.
type outageRequest struct{ method, path, body string }

func sendDuringOutage(s *server, method, path, body string) (outageAnswer, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	req, err := http.NewRequest(method, "http://"+s.addr+path, strings.NewReader(body))
	if err != nil {
		return outageAnswer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return outageAnswer{}, fmt.Errorf("%s %s while a dependency is frozen: %w (the request hung)", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return outageAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(b)}, nil
}

// waitReady waits, bounded, until /_readyz answers 200 again.
func waitReady(t *testing.T, s *server) {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second}
	for i := 0; i < 100; i++ {
		resp, err := client.Get("http://" + s.addr + "/_readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not ready again after the dependency resumed:\n%s", s.logs.String())
}

// TestFrozenDependenciesAnswer503 freezes (SIGSTOP) a private PostgreSQL,
// then a private Redis, under a running server: every request answers
// 503 service_unavailable with Retry-After within the configured deadline
// instead of hanging, /_readyz names the dependency that is down, and the
// server recovers when the dependency resumes.
func TestFrozenDependenciesAnswer503(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "starts a private PostgreSQL and Redis, freezes them under the running binary and waits out its deadlines")
	pg, databaseURL := startPrivatePostgres(t)
	rd, redisURL := startPrivateRedis(t)
	dir := t.TempDir()
	env := baseEnv("SECRET_KEY="+testKey, "SITE_URL=https://gatehouse.example.com", "DATABASE_URL="+databaseURL,
		"REDIS_URL="+redisURL, "DATABASE_STATEMENT_TIMEOUT=1", "REDIS_TIMEOUT=1")
	token := createUser(t, env, dir)
	s := startServer(t, env, dir)

	login := `{"email":"ops@example.com","password":"wrong password"}`
	requests := []outageRequest{
		{"POST", "/api/login/", login},
		{"POST", "/api/reset/", `{"email":"ops@example.com"}`},
		{"POST", "/e/", `{"api_key":"` + token + `","event":"e","distinct_id":"d"}`},
		{"GET", "/_readyz", ""},
		{"GET", "/_health", ""},
	}
	for _, dep := range []struct {
		name string
		p    *privateProcess
	}{{"database", pg}, {"redis", rd}} {
		t.Run(dep.name, func(t *testing.T) {
			waitReady(t, s)
			dep.p.freeze(t)
			defer dep.p.thaw(t)
			// All at once: each waits out the deadline of the dependency.
			answers := askAllDuringOutage(t, s, requests)
			for i, r := range requests {
				a := answers[i]
				switch {
				case r.path == "/e/" && dep.name == "redis":
					continue // capture counts nothing
				case r.path == "/_readyz":
					var ready map[string]string
					json.Unmarshal([]byte(a.body), &ready)
					if a.status != 503 || a.retryAfter == "" || ready[dep.name] != "down" {
						t.Errorf("/_readyz with %s frozen: %d %s", dep.name, a.status, a.body)
					}
					continue
				case r.path == "/_health":
					if a.status != 200 {
						t.Errorf("/_health (liveness) with %s frozen: %d", dep.name, a.status)
					}
					continue
				}
				if r.path == "/e/" {
					// Capture answers in plain text, as PostHog's does.
					if a.status != 503 || a.retryAfter == "" {
						t.Errorf("capture with %s frozen: %d Retry-After=%q %s", dep.name, a.status, a.retryAfter, a.body)
					}
					continue
				}
				var e struct{ Type, Code string }
				json.Unmarshal([]byte(a.body), &e)
				if a.status != 503 || a.retryAfter == "" || e.Code != "service_unavailable" || e.Type != "server_error" {
					t.Errorf("%s %s with %s frozen: %d Retry-After=%q %s", r.method, r.path, dep.name, a.status, a.retryAfter, a.body)
				}
			}
		})
	}
	waitReady(t, s)
	// Both back: a wrong password is an ordinary failed login again.
	if a := askDuringOutage(t, s, "POST", "/api/login/", login); a.status != 400 {
		t.Fatalf("login after the outages: %d %s", a.status, a.body)
	}
}

// TestUnreachableDatabaseStartupError: when PostgreSQL cannot be reached,
// start-up stops with a message that names the database and the reason in
// plain words, and redacts the password only when the URL has one.
func TestUnreachableDatabaseStartupError(t *testing.T) {
	t.Parallel()
	port := freePort(t) // nobody listens: connection refused
	for _, tc := range []struct{ name, url, password string }{
		{"no password", fmt.Sprintf("postgres://gatehouse@127.0.0.1:%d/gatehouse?sslmode=disable", port), ""},
		{"password", fmt.Sprintf("postgres://gatehouse:pw-hunter2-secret@127.0.0.1:%d/gatehouse?sslmode=disable", port), "pw-hunter2-secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := baseEnv("SECRET_KEY="+testKey, "DATABASE_URL="+tc.url, "DATABASE_STATEMENT_TIMEOUT=2")
			_, stderr, code := runCmd(t, env, "serve", "--addr", freeAddr(t), "--data-dir", t.TempDir())
			if code == 0 {
				t.Fatal("serve started without its database")
			}
			if !strings.Contains(stderr, "cannot connect to PostgreSQL") || !strings.Contains(stderr, "connection refused") {
				t.Errorf("the error should name PostgreSQL and the reason: %s", stderr)
			}
			if tc.password == "" && strings.Contains(stderr, "[REDACTED]") {
				t.Errorf("nothing to redact, yet: %s", stderr)
			}
			if tc.password != "" && strings.Contains(stderr, tc.password) {
				t.Errorf("the password leaked: %s", stderr)
			}
		})
	}
}
