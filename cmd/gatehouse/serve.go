package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/logbuf"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// loadConfig reads the environment and parses the subcommand's flags: the
// common ones (--data-dir, and --addr when withAddr) and those that extra
// registers, on one flag set. A bad value stops the process with exit code
// 2 and a message per variable.
//
// --help prints the command's description, flags and examples and ends
// the command with exit code 0, whatever the environment holds.
func loadConfig(name string, args []string, stderr io.Writer, withAddr bool, extra func(*flag.FlagSet)) (*config.Config, error) {
	help := wantsHelp(args)
	cfg, err := config.FromEnviron()
	if err != nil && help {
		cfg, err = &config.Config{DataDir: config.DefaultDataDir, Addr: config.DefaultAddr}, nil
	}
	if err != nil {
		var lines []string
		for _, line := range strings.Split(err.Error(), "\n") {
			lines = append(lines, "  - "+line)
		}
		return nil, exitError{code: 2, msg: "gatehouse: invalid configuration:\n" + strings.Join(lines, "\n")}
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "directory for the SQLite database and the development secret key (env GATEHOUSE_DATA_DIR)")
	if withAddr {
		fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (env GATEHOUSE_ADDR)")
		fs.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, "address for the Prometheus /metrics listener, apart from --addr; empty: off (env METRICS_ADDR)")
	}
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() { printHelp(helpOutput, name, fs) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, exitError{code: 0}
		}
		return nil, exitError{code: 2}
	}
	if fs.NArg() > 0 {
		return nil, exitError{code: 2, msg: fmt.Sprintf("gatehouse %s: unexpected argument %q", name, fs.Arg(0))}
	}
	return cfg, nil
}

// serveGCPercent is the server's GOGC unless the environment sets one.
// Gatehouse keeps little live heap (tens of MB: caches, sessions in
// flight) and allocates a few KB per request, so with Go's default of 100
// the collector runs dozens of times a second under load. At 400 it runs
// a quarter as often for a heap a few tens of MB larger: measured here,
// about a fifth less CPU per key-authenticated request. Argon2id's
// memory is not on the Go heap and is unaffected.
const serveGCPercent = 400

// setGCDefault applies serveGCPercent when GOGC is not set.
func setGCDefault(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	return slog.New(newLogHandler(cfg, w))
}

func newLogHandler(cfg *config.Config, w io.Writer) slog.Handler {
	if cfg.Debug {
		return slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
	}
	return slog.NewJSONHandler(w, nil)
}

// storeOptions are the configured database's.
func storeOptions(cfg *config.Config) store.Options {
	return store.Options{DatabaseURL: cfg.DatabaseURL.Reveal(), DataDir: cfg.DataDir, Timeout: cfg.DatabaseTimeout, MaxConns: cfg.DatabasePoolSize}
}

// openStore opens and migrates the configured database.
func openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, storeOptions(cfg))
	if err != nil {
		return nil, err
	}
	applied, err := st.Migrate(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	for _, name := range applied {
		logger.Info("applied migration", "name", name)
	}
	if err := configureAudit(cfg, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := loadConfig("serve", args, stderr, true, nil)
	if err != nil {
		return err
	}
	setGCDefault(os.Getenv)
	// The server logs a line per request: they are queued and written
	// off the request path; warnings and errors are written at once.
	logOut := logbuf.New(stderr)
	defer logOut.Close()
	logger := slog.New(logbuf.Handler(newLogHandler(cfg, logOut), logOut))
	// Packages without a logger of their own (the store, best-effort
	// bookkeeping) log through the default.
	slog.SetDefault(logger)
	gatehouse.CountBookkeepingFailure = metrics.BookkeepingFailed
	keyring, keyWarnings, err := secretkey.Resolve(secretkey.Settings{
		Key: cfg.SecretKey, Fallbacks: cfg.SecretKeyFallbacks, Development: cfg.Debug || cfg.Test, DataDir: cfg.DataDir,
	})
	if err != nil {
		return exitError{code: 2, msg: "gatehouse: " + err.Error()}
	}
	for _, w := range append(keyWarnings, cfg.Warnings()...) {
		logger.Warn(w)
	}

	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()

	counters, closeCounters, err := openCounters(ctx, cfg, st)
	if err != nil {
		return err
	}
	defer closeCounters()
	var redisProbe httpapi.Pinger
	if r, ok := counters.(*ratelimit.Redis); ok {
		redisProbe = r
	}
	limiter := ratelimit.New(counters)
	lockout := ratelimit.NewLoginLockout(limiter, int64(cfg.AxesFailureLimit), cfg.AxesCooloffTime)

	mailer := newMailer(cfg, st, logger)
	mailCtx, stopMail := context.WithCancel(context.Background())
	mailDone := make(chan struct{})
	go func() { mailer.Run(mailCtx); close(mailDone) }()
	defer func() { stopMail(); <-mailDone }()
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	sweepDone := make(chan struct{})
	go func() { sweepLoop(sweepCtx, st, logger, cfg.AuditLogRetention); close(sweepDone) }()
	defer func() { stopSweep(); <-sweepDone }()

	svc := newServices(cfg, st, keyring, limiter, lockout, mailer, logger)
	// Links of answered reset requests may still be queueing.
	defer svc.Reset.Wait()
	// Issuers that will fail at sign-in are reported now, not at the
	// first login; start-up does not wait for the providers.
	go func() {
		for _, w := range svc.SocialProviders.CheckIssuers(ctx) {
			logger.Warn(w)
		}
	}()
	handler := httpapi.NewServer(httpapi.Deps{
		Logger:          logger,
		Resolver:        netguard.NewResolver(cfg.TrustedProxies, cfg.TrustAllProxies, cfg.IsBehindProxy),
		AllowList:       netguard.NewAllowList(cfg.AllowedIPBlocks),
		Cookies:         cookies.Policy{Secure: cfg.SecureCookies},
		Database:        st,
		Capture:         svc.Capture,
		Auth:            svc.Auth,
		Accounts:        svc.Accounts,
		SiteURL:         cfg.SiteURL,
		Mail:            mailer,
		Limiter:         limiter,
		Keys:            keyring,
		MultiOrgEnabled: cfg.MultiOrgEnabled,
		SignupRate:      cfg.SignupRate,
		Verifier:        svc.Verifier,
		Reset:           svc.Reset,
		Invites:         svc.Invites,
		Domains:         svc.Domains,
		AuthGeneration:  svc.Generation,
		APIKeys:         svc.APIKeys,
		Organizations:   svc.Organizations,
		Audit:           svc.Audit,
		Members:         svc.Members,
		Lifecycle:       svc.Lifecycle,
		Flags:           svc.Flags,
		TwoFactor:       svc.TwoFactor,
		Passkeys:        svc.Passkeys,
		SSO:             svc.SSO,
		SocialProviders: svc.SocialProviders,
		SAML:            svc.SAML,
		Version:         version,
		Redis:           redisProbe,
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	stopMetrics, err := startMetrics(cfg, logger)
	if err != nil {
		return err
	}
	defer stopMetrics()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	logger.Info("gatehouse listening", "addr", ln.Addr().String(), "version", version, "database", string(st.Engine()),
		"ip_allow_list", len(cfg.AllowedIPBlocks) > 0, "secure_cookies", cfg.SecureCookies, "debug", cfg.Debug)
	logOpenURL(ctx, cfg, st, logger)

	inFlight := trackInFlight(srv)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	return shutdown(srv, served, inFlight, cfg.ShutdownGrace, logger)
}

// inFlight counts the requests being served, so that a shutdown can say
// how many its grace period cut.
type inFlight struct {
	mu       sync.Mutex
	requests map[*http.Request]struct{}
}

// trackInFlight wraps srv's handler to keep count of its requests.
func trackInFlight(srv *http.Server) *inFlight {
	f := &inFlight{requests: map[*http.Request]struct{}{}}
	next := srv.Handler
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests[r] = struct{}{}
		f.mu.Unlock()
		defer func() {
			f.mu.Lock()
			delete(f.requests, r)
			f.mu.Unlock()
		}()
		next.ServeHTTP(w, r)
	})
	return f
}

// cut logs each request still running and returns how many there were.
func (f *inFlight) cut(logger *slog.Logger) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for r := range f.requests {
		logger.Warn("shutdown: request cut at the end of the grace period", "method", r.Method, "path", r.URL.Path)
	}
	return len(f.requests)
}

// shutdown stops accepting connections and gives the requests in flight
// grace to finish. Requests still running then are cut and logged: that is
// the shutdown the operator asked for, not a failure, so the process still
// exits 0. Only a server that failed for another reason is an error.
func shutdown(srv *http.Server, served <-chan error, f *inFlight, grace time.Duration, logger *slog.Logger) error {
	logger.Info("shutting down: finishing in-flight requests", "grace", grace.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("shutdown: %w", err)
		}
		n := f.cut(logger)
		srv.Close()
		logger.Warn("shutdown: grace period over, requests cut", "requests", n, "grace", grace.String())
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

func cmdMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig("migrate", args, stderr, false, nil)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	st, err := store.Open(ctx, storeOptions(cfg))
	if err != nil {
		return err
	}
	defer st.Close()
	applied, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	for _, name := range applied {
		logger.Info("applied migration", "name", name)
	}
	fmt.Fprintf(stdout, "migrations applied: %d (database: %s)\n", len(applied), st.Engine())
	return nil
}

func cmdGenerateSecret(stdout io.Writer) error {
	fmt.Fprintln(stdout, secretkey.Generate())
	return nil
}

// openCounters picks where rate-limit and lockout counters live: Redis when
// REDIS_URL is set (shared by every instance), else the database.
func openCounters(ctx context.Context, cfg *config.Config, st *store.Store) (ratelimit.Counters, func(), error) {
	if cfg.RedisURL == "" {
		return store.Counters{S: st}, func() {}, nil
	}
	opt, err := redis.ParseURL(cfg.RedisURL.Reveal())
	if err != nil {
		return nil, nil, exitError{code: 2, msg: "gatehouse: REDIS_URL: expected a redis://[user:password@]host:port[/db] URL"}
	}
	// Every Redis call is bounded: a frozen Redis gives a quick 503, not a
	// hang (go-redis also bounds the wait for a pooled connection by the
	// read timeout plus a second).
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.RedisTimeout, cfg.RedisTimeout, cfg.RedisTimeout
	client := redis.NewClient(opt)
	pingCtx, cancel := context.WithTimeout(ctx, 2*cfg.RedisTimeout)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("cannot connect to Redis (REDIS_URL): %w", err)
	}
	return ratelimit.NewRedis(client), func() { client.Close() }, nil
}

// newMailer sends over SMTP when EMAIL_HOST is set; otherwise messages wait
// in the outbox (gatehouse outbox lists them).
func newMailer(cfg *config.Config, st *store.Store, logger *slog.Logger) *mail.Mailer {
	var sender mail.Sender
	if cfg.EmailConfigured() {
		sender = &mail.SMTP{Host: cfg.Email.Host, Port: cfg.Email.Port, User: cfg.Email.User, Password: cfg.Email.Password,
			UseTLS: cfg.Email.UseTLS, UseSSL: cfg.Email.UseSSL}
	}
	m := mail.NewMailer(st, sender, cfg.Email.DefaultFrom, logger)
	// Development without email: the log shows each message's text
	// (links included) as it is queued.
	m.LogText = cfg.Debug && sender == nil
	return m
}

// logOpenURL tells the operator where to point a browser: SITE_URL, or on
// a first run (no organization, so no account yet) its /signup page. It
// warns when --addr listens on another port than SITE_URL names, unless a
// proxy stands between them (IS_BEHIND_PROXY): browsers then reach a
// server that is not this one, or none.
func logOpenURL(ctx context.Context, cfg *config.Config, st *store.Store, logger *slog.Logger) {
	site := strings.TrimSuffix(cfg.SiteURL.String(), "/")
	if n, err := st.CountOrganizations(ctx); err == nil && n == 0 {
		logger.Info("no account yet: open this URL to create the first one", "url", site+"/signup")
	} else {
		logger.Info("open Gatehouse at", "url", site)
	}
	if cfg.IsBehindProxy {
		return
	}
	_, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil || port == "0" {
		return
	}
	sitePort := cfg.SiteURL.Port()
	if sitePort == "" {
		sitePort = map[string]string{"http": "80", "https": "443"}[cfg.SiteURL.Scheme]
	}
	if port != sitePort {
		logger.Warn("--addr listens on port "+port+" but SITE_URL names port "+sitePort+
			": links in emails and browser origin checks use SITE_URL; set SITE_URL to the address browsers use, or IS_BEHIND_PROXY when a proxy serves SITE_URL",
			"addr", cfg.Addr, "site_url", site)
	}
}
