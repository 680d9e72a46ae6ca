package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// binary is the gatehouse binary built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gatehouse")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building gatehouse: %v\n%s", err, out)
		os.Exit(1)
	}
	// The tests mostly wait on the servers they start: let more run at once.
	testenv.RaiseParallelism(4)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// baseEnv is a minimal, explicit environment: nothing from the developer's
// shell leaks into these tests.
func baseEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}, extra...)
}

func runCmd(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = env
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// server is a running gatehouse serve process.
type server struct {
	cmd  *exec.Cmd
	addr string
	logs *lockedBuffer
	done chan struct{}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startServer(t *testing.T, env []string, dataDir string) *server {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve", "--addr", addr, "--data-dir", dataDir)
	cmd.Env = env
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, addr: addr, logs: logs, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/_health")
		if err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case <-s.done:
			t.Fatalf("server exited early:\n%s", logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("server did not start:\n%s", logs.String())
	return nil
}

const testKey = "test-secret-key-0123456789abcdef0123456789"

func TestConfigErrorsStopStartup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"bad boolean", []string{"DEBUG=maybe"}, []string{"DEBUG", "expected a boolean"}},
		{"bad allow list", []string{"SECRET_KEY=" + testKey, "ALLOWED_IP_BLOCKS=10.0.0.0/8,nope"}, []string{"ALLOWED_IP_BLOCKS", "nope"}},
		{"no secret key in production", nil, []string{"SECRET_KEY is not set", "gatehouse generate-secret"}},
		{"placeholder key", []string{"SECRET_KEY=<randomly generated secret key>"}, []string{"placeholder"}},
		{"short key", []string{"SECRET_KEY=tooshort"}, []string{"shorter than 32"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCmd(t, baseEnv(tc.env...), "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
			if code != 2 {
				t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Fatalf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "tooshort") {
				t.Fatal("the key itself was printed")
			}
		})
	}
}

func TestGenerateSecretAndVersion(t *testing.T) {
	t.Parallel()
	out, _, code := runCmd(t, baseEnv(), "generate-secret")
	if code != 0 || !regexp.MustCompile(`^[0-9a-f]{64}\n$`).MatchString(out) {
		t.Fatalf("generate-secret: %d %q", code, out)
	}
	out2, _, _ := runCmd(t, baseEnv(), "generate-secret")
	if out == out2 {
		t.Fatal("two secrets are equal")
	}
	out, _, code = runCmd(t, baseEnv(), "version")
	if code != 0 || !strings.HasPrefix(out, "gatehouse ") {
		t.Fatalf("version: %d %q", code, out)
	}
	_, _, code = runCmd(t, baseEnv(), "frobnicate")
	if code != 2 {
		t.Fatalf("unknown command exit %d", code)
	}
}

func TestDebugGeneratesKeyAndWarns(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, baseEnv("DEBUG=1"), dir)
	info, err := os.Stat(filepath.Join(dir, "secret_key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("secret key file: %v %v", info, err)
	}
	if !strings.Contains(s.logs.String(), "generated a development key") {
		t.Fatalf("no warning:\n%s", s.logs.String())
	}
	key, _ := os.ReadFile(filepath.Join(dir, "secret_key"))
	// Stop first: request and start-up lines are written off the request
	// path, and every one of them must be checked.
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	if strings.Contains(s.logs.String(), strings.TrimSpace(string(key))) {
		t.Fatal("the generated key was logged")
	}
}

// engineEnv returns the environment that points a server at a fresh
// database on engine, and the store options to inspect it.
func engineEnv(t *testing.T, engine store.Engine) ([]string, string, store.Options) {
	t.Helper()
	// PostgreSQL: a migrated schema from the pool (serve finds nothing to
	// migrate). SQLite: a new directory, as a first run has.
	var opts store.Options
	if engine == store.Postgres {
		opts = storetest.Shared(t, engine)
	} else {
		opts = storetest.Options(t, engine)
	}
	env := baseEnv("SECRET_KEY="+testKey, "SITE_URL=https://gatehouse.example.com")
	if opts.DatabaseURL != "" {
		env = append(env, "DATABASE_URL="+opts.DatabaseURL)
	}
	dir := opts.DataDir
	if dir == "" {
		dir = t.TempDir()
	}
	opts.DataDir = dir
	return env, dir, opts
}

var tokenLine = regexp.MustCompile(`project API token \(public\): (phc_\w+)`)

func createUser(t *testing.T, env []string, dir string) string {
	t.Helper()
	out, stderr, code := runCmd(t, env, "createuser", "--data-dir", dir, "--email", "ops@example.com", "--password", "correct horse battery staple", "--organization", "Ops")
	if code != 0 {
		t.Fatalf("createuser: %d\n%s\n%s", code, out, stderr)
	}
	m := tokenLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no token in output:\n%s", out)
	}
	if !regexp.MustCompile(`project secret token:\s+phs_\w{48,49}`).MatchString(out) {
		t.Fatalf("no secret in output:\n%s", out)
	}
	// A second account with the same email (any case) is refused.
	_, stderr, code = runCmd(t, env, "createuser", "--data-dir", dir, "--email", "OPS@example.com", "--password", "another good password", "--organization", "Other")
	if code == 0 || !strings.Contains(stderr, "already an account") {
		t.Fatalf("duplicate createuser: %d %s", code, stderr)
	}
	return m[1]
}

// TestAcknowledgedEventsSurviveSIGKILL sends events from several clients,
// kills the server with SIGKILL in the middle, and checks that every event
// that got a 200 is in the database.
func TestAcknowledgedEventsSurviveSIGKILL(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel() // each engine has its own database and server
			env, dir, opts := engineEnv(t, engine)
			token := createUser(t, env, dir)
			s := startServer(t, env, dir)

			load := startCaptureLoad("http://"+s.addr+"/batch/", token, 4)
			load.waitAcked(300)
			s.cmd.Process.Signal(syscall.SIGKILL)
			<-s.done
			load.finish()

			st, err := store.Open(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			acked, missing := load.missing(t, st, token)
			t.Logf("%s: %d events acknowledged, %d missing", engine, acked, missing)
			if missing > 0 {
				t.Fatalf("%d acknowledged events lost after SIGKILL", missing)
			}
		})
	}
}

// captureLoad posts 10-event batches with unique uuids from several
// clients until finish, remembering every event that was acknowledged.
type captureLoad struct {
	acked sync.Map
	n     atomic.Int64
	stop  chan struct{}
	wg    sync.WaitGroup
}

var captureRun atomic.Int64

func startCaptureLoad(url, token string, clients int) *captureLoad {
	l := &captureLoad{stop: make(chan struct{})}
	run := captureRun.Add(1)<<20 | time.Now().UnixNano()&0xfffff
	var seq atomic.Int64
	client := &http.Client{Timeout: 5 * time.Second}
	for range clients {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				var ids []string
				var b strings.Builder
				fmt.Fprintf(&b, `{"api_key":%q,"batch":[`, token)
				for i := 0; i < 10; i++ {
					id := fmt.Sprintf("01900000-%04x-7000-8000-%012x", run&0xffff, seq.Add(1))
					ids = append(ids, id)
					if i > 0 {
						b.WriteByte(',')
					}
					fmt.Fprintf(&b, `{"event":"e","distinct_id":"d","uuid":%q}`, id)
				}
				b.WriteString("]}")
				resp, err := client.Post(url, "application/json", strings.NewReader(b.String()))
				if err != nil {
					continue // a server or proxy gone: not acknowledged
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 {
					for _, id := range ids {
						l.acked.Store(id, true)
					}
					l.n.Add(int64(len(ids)))
				}
			}
		}()
	}
	return l
}

// waitAcked waits until at least n more events have been acknowledged.
func (l *captureLoad) waitAcked(n int64) {
	target := l.n.Load() + n
	for l.n.Load() < target {
		time.Sleep(5 * time.Millisecond)
	}
}

func (l *captureLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// missing counts the acknowledged events that are not in the project's
// events table.
func (l *captureLoad) missing(t *testing.T, st *store.Store, token string) (acked int64, missing int) {
	t.Helper()
	p, err := st.ProjectByAPIToken(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := st.EventsOfProject(context.Background(), p.ID, 10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, e := range evs {
		stored[e.UUID] = true
	}
	l.acked.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			missing++
		}
		return true
	})
	return l.n.Load(), missing
}

func TestSIGTERMShutsDownGracefully(t *testing.T) {
	t.Parallel()
	env, dir, _ := engineEnv(t, store.SQLite)
	s := startServer(t, env, dir)
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after SIGTERM")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM:\n%s", code, s.logs.String())
	}
	if !strings.Contains(s.logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop logged:\n%s", s.logs.String())
	}
}

func TestStartupLogsHoldNoSecrets(t *testing.T) {
	t.Parallel()
	env, dir, _ := engineEnv(t, store.SQLite)
	env = append(env, "EMAIL_HOST_PASSWORD=smtp-password-value-xyz", "SECRET_KEY_FALLBACKS=old-secret-key-value-0123456789abcdef")
	s := startServer(t, env, dir)
	http.Get("http://" + s.addr + "/_readyz?personal_api_key=phx_querysecret")
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	sc := bufio.NewScanner(strings.NewReader(s.logs.String()))
	lines := 0
	for sc.Scan() {
		lines++
		line := sc.Text()
		for _, secret := range []string{testKey, "smtp-password-value-xyz", "old-secret-key-value", "phx_querysecret"} {
			if strings.Contains(line, secret) {
				t.Fatalf("log line contains a secret: %s", line)
			}
		}
	}
	if lines < 3 {
		t.Fatalf("expected start, request and stop lines, got:\n%s", s.logs.String())
	}
}

func TestCreateUserRefusesWeakPassword(t *testing.T) {
	t.Parallel()
	env, dir, _ := engineEnv(t, store.SQLite)
	_, stderr, code := runCmd(t, env, "createuser", "--data-dir", dir, "--email", "weak@example.com", "--password", "password1", "--organization", "W")
	if code == 0 || !strings.Contains(stderr, "password") || !strings.Contains(stderr, "common password") {
		t.Fatalf("weak password: exit %d, %s", code, stderr)
	}
}

func TestOutboxListsQueuedMail(t *testing.T) {
	t.Parallel()
	env, dir, opts := engineEnv(t, store.SQLite)
	st, err := store.Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.EnqueueMail(context.Background(), gatehouse.OutboxMessage{To: "ada@example.com", Subject: "Reset your password",
		Text: "https://gatehouse.example.com/reset/secret-token-123", Status: gatehouse.OutboxPending}); err != nil {
		t.Fatal(err)
	}
	// A sent message is still listed (its body is gone, its metadata stays).
	sentID, err := st.EnqueueMail(context.Background(), gatehouse.OutboxMessage{To: "grace@example.com", Subject: "Verify your email", Text: "https://gatehouse.example.com/verify_email/x/y"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.MarkMailSent(context.Background(), sentID, time.Now()); err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, stderr, code := runCmd(t, env, "outbox", "--data-dir", dir)
	if code != 0 || !strings.Contains(out, "ada@example.com") || !strings.Contains(out, "Reset your password") || !strings.Contains(out, "pending") ||
		!strings.Contains(out, "grace@example.com") || !strings.Contains(out, "sent") {
		t.Fatalf("outbox: %d\n%s\n%s", code, out, stderr)
	}
	if strings.Contains(out, "secret-token-123") {
		t.Fatal("outbox printed a message body")
	}
}

func TestServeWithRedisCounters(t *testing.T) {
	t.Parallel()
	redisURL := testenv.RedisURL(t)
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	ctx := context.Background()
	// A fresh email, and the loopback address's counter cleared, so the
	// attempt below is a plain counted failure whatever earlier runs left.
	email := fmt.Sprintf("redis-%d@example.com", time.Now().UnixNano())
	emailKey := ratelimit.RedisPrefix + ratelimit.Key("login-email", email, "127.0.0.1")
	addressKey := ratelimit.RedisPrefix + ratelimit.Key("login-address", "127.0.0.1")
	rc.Del(ctx, addressKey)
	defer rc.Del(ctx, emailKey, addressKey)

	env, dir, _ := engineEnv(t, store.SQLite)
	s := startServer(t, append(env, "REDIS_URL="+redisURL), dir)
	resp, err := http.Post("http://"+s.addr+"/api/login/", "application/json", strings.NewReader(`{"email":"`+email+`","password":"wrong password"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("login with Redis counters: %d\n%s", resp.StatusCode, s.logs.String())
	}
	for _, k := range []string{emailKey, addressKey} {
		if n, err := rc.Get(ctx, k).Int(); err != nil || n != 1 {
			t.Fatalf("counter %s in Redis: %d %v", k, n, err)
		}
	}
	_, stderr, code := runCmd(t, append(env, "REDIS_URL=redis://127.0.0.1:1/0"), "serve", "--addr", freeAddr(t), "--data-dir", dir)
	if code == 0 || !strings.Contains(stderr, "Redis") {
		t.Fatalf("unreachable Redis must stop start-up: %d %s", code, stderr)
	}
}
