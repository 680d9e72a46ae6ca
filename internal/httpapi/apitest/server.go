package apitest

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/instance"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

type Server struct {
	URL     string
	Store   *store.Store
	Project *gatehouse.Project
	Secret  gatehouse.Secret
	Logs    *SyncBuffer
	User    *gatehouse.User
	Mail    *FakeMailer
	// apiKeys is the server's key service (its legacy-hash counter).
	ApiKeys *gatehouse.APIKeyService
}

type Options struct {
	// PasswordCost is the instance's password-hash work; zero is
	// password.TestCost (benchmarks of sign-in use password.DefaultCost).
	PasswordCost password.Cost
	Allowed      string
	Trusted      string
	TrustAll     bool
	Behind       bool
	Database     httpauth.Pinger
	Now          func() time.Time
	// store and counters let two servers share one database or Redis.
	StoreOpts *store.Options
	Counters  ratelimit.Counters
	// empty starts without the owner account and organization.
	Empty      bool
	MultiOrg   bool
	SignupRate string
	// verifyEmail runs as an instance with email configured: signups
	// must verify their address before signing in.
	VerifyEmail bool
	// emailMFA turns on email MFA (EMAIL_MFA_ENABLED).
	EmailMFA bool
	// dnsAddr is the DNS server domain verification asks (dnstest).
	DnsAddr string
	// siteURL is SITE_URL (default https://gatehouse.example.com); "{port}"
	// in it becomes the test server's port, so that a browser test can use
	// http://localhost:{port} as the passkey origin.
	SiteURL string
	// social are the configured social login providers (social_test.go).
	Social []config.SocialProvider
	// passwords wraps the password checker of logins and profile changes
	// (attack tests count the checks); nil leaves it as it is.
	Passwords func(gatehouse.PasswordChecker) gatehouse.PasswordChecker
}

func MustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func NewServer(t testing.TB, engine store.Engine, o Options) *Server {
	t.Helper()
	var st *store.Store
	if o.StoreOpts != nil {
		var err error
		if st, err = store.Open(context.Background(), *o.StoreOpts); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if _, err := st.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		st.SetAudit(store.AuditOptions{Signer: storetest.AuditKey()})
	} else {
		st = storetest.Open(t, engine)
	}
	counters := o.Counters
	if counters == nil {
		counters = store.Counters{S: st, Now: o.Now}
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	site := "https://gatehouse.example.com"
	if o.SiteURL != "" {
		site = strings.ReplaceAll(o.SiteURL, "{port}", strconv.Itoa(listener.Addr().(*net.TCPAddr).Port))
	}
	// The instance is configured as an operator would: through the
	// environment variables the server reads.
	env := map[string]string{
		"SITE_URL": site, "ALLOWED_IP_BLOCKS": o.Allowed, "TRUSTED_PROXIES": o.Trusted,
		"TRUST_ALL_PROXIES": strconv.FormatBool(o.TrustAll), "IS_BEHIND_PROXY": strconv.FormatBool(o.Behind),
		"MULTI_ORG_ENABLED": strconv.FormatBool(o.MultiOrg), "SIGNUP_RATE": o.SignupRate,
		"EMAIL_MFA_ENABLED": strconv.FormatBool(o.EmailMFA), "SECURE_COOKIES": "true",
	}
	if env["SIGNUP_RATE"] == "" {
		env["SIGNUP_RATE"] = "1000/hour"
	}
	if o.VerifyEmail || o.EmailMFA {
		env["EMAIL_HOST"] = "smtp.invalid" // configured; the test's outbox receives the mail
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok && v != "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.SocialProviders = o.Social
	logs := &SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	outbox := &FakeMailer{}
	cost := o.PasswordCost
	if cost == (password.Cost{}) {
		cost = password.TestCost
	}
	inst := instance.New(instance.Options{Config: cfg, Store: st, Keys: secretkey.NewKeyring(testSecretKey), Counters: counters,
		Mail: outbox, Logger: logger, Now: o.Now, DNS: ResolverAt(o.DnsAddr), Passwords: o.Passwords, Database: o.Database,
		PasswordCost: cost})
	outbox.Wait = inst.Services.Reset.Wait
	h := inst.Handler
	svc := inst.Services
	var created *gatehouse.CreatedOrganization
	if o.Empty {
		created = &gatehouse.CreatedOrganization{}
	} else {
		created, err = svc.Accounts.CreateOrganizationWithOwner(context.Background(), gatehouse.NewOwner{
			Email: "owner@example.com", Password: "correct horse battery", OrganizationName: "Acme"})
	}
	if errors.Is(err, gatehouse.ErrConflict) || (err != nil && strings.Contains(err.Error(), "already an account")) {
		// A second instance on a shared database: the owner exists.
		u, uerr := st.UserByEmail(context.Background(), "owner@example.com")
		if uerr != nil {
			t.Fatal(uerr)
		}
		p, perr := st.ProjectByID(context.Background(), u.CurrentProjectID)
		if perr != nil {
			t.Fatal(perr)
		}
		created, err = &gatehouse.CreatedOrganization{User: u, Project: p}, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	apiKeys := svc.APIKeys
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = listener
	srv.Start()
	t.Cleanup(srv.Close)
	return &Server{URL: srv.URL, Store: st, ApiKeys: apiKeys, Project: created.Project, Secret: created.ProjectSecret, Logs: logs, User: created.User, Mail: outbox}
}

func (ts *Server) Do(t *testing.T, method, path string, body io.Reader, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (ts *Server) Count(t *testing.T) int {
	t.Helper()
	n, err := ts.Store.CountEvents(context.Background(), ts.Project.ID)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// ForEachEngine runs fn on every engine, the engines in parallel.
func ForEachEngine(t *testing.T, fn func(t *testing.T, engine store.Engine)) {
	for _, e := range storetest.Engines {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			fn(t, e)
		})
	}
}

func Gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// SyncBuffer is a log sink safe for concurrent handlers.
type SyncBuffer struct {
	Mu sync.Mutex
	B  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	return s.B.Write(p)
}

func (s *SyncBuffer) String() string {
	s.Mu.Lock()
	defer s.Mu.Unlock()
	return s.B.String()
}

// testSecretKey is the test instances' SECRET_KEY.
const testSecretKey = "test-secret-key-0123456789abcdef0123456789abcdef"
