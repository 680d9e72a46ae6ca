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
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/logbuf"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/sso/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// shutdownGrace is how long in-flight requests get after SIGTERM.
const shutdownGrace = 25 * time.Second

// loadConfig reads the environment and parses the subcommand's flags: the
// common ones (--data-dir, and --addr when withAddr) and those that extra
// registers, on one flag set. A bad value stops the process with exit code
// 2 and a message per variable.
func loadConfig(name string, args []string, stderr io.Writer, withAddr bool, extra func(*flag.FlagSet)) (*config.Config, error) {
	cfg, err := config.FromEnviron()
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
	if err := fs.Parse(args); err != nil {
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

// openStore opens and migrates the configured database.
func openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL.Reveal(), DataDir: cfg.DataDir})
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
	limiter := ratelimit.New(counters)
	lockout := ratelimit.NewLoginLockout(limiter, int64(cfg.AxesFailureLimit), cfg.AxesCooloffTime)

	mailer := newMailer(cfg, st, logger)
	mailCtx, stopMail := context.WithCancel(context.Background())
	mailDone := make(chan struct{})
	go func() { mailer.Run(mailCtx); close(mailDone) }()
	defer func() { stopMail(); <-mailDone }()
	sweepCtx, stopSweep := context.WithCancel(context.Background())
	sweepDone := make(chan struct{})
	go func() { sweepLoop(sweepCtx, st, logger); close(sweepDone) }()
	defer func() { stopSweep(); <-sweepDone }()

	hasher := password.NewHasher(0, 0)
	accounts := &gatehouse.AccountService{Store: st, HashPassword: password.Hash, CheckPassword: password.CheckStrength, Passwords: hasher}
	var verifier *gatehouse.EmailVerifier
	if cfg.EmailConfigured() {
		verifier = &gatehouse.EmailVerifier{Store: st, Key: keyring.For(secretkey.PurposeEmailVerify)}
	}
	twoFactor := httpapi.NewTwoFactorService(st, keyring, limiter, cfg.EmailMFAEnabled, nil)
	domains := &gatehouse.DomainService{Store: st, Resolver: dnsResolver(cfg.DNSResolver), Logger: logger}
	reset := httpapi.NewResetService(st, keyring.For(secretkey.PurposePasswordReset), limiter, mailer,
		hasher.Hash, password.CheckStrength, cfg.SiteURL.String())
	reset.SSO = domains
	socialProviders := oauth.NewRegistry(cfg.SocialProviders, cfg.SiteURL, nil)
	domains.ProviderConfigured = socialProviders.Configured
	// Issuers that will fail at sign-in are reported now, not at the
	// first login; start-up does not wait for the providers.
	go func() {
		for _, w := range socialProviders.CheckIssuers(ctx) {
			logger.Warn(w)
		}
	}()
	sso := &gatehouse.SSOService{Store: st, Domains: domains, MultiOrgEnabled: cfg.MultiOrgEnabled,
		Invites: &gatehouse.InviteService{Store: st, Accounts: accounts, SSO: domains},
		HasPasskeys: func(ctx context.Context, userID int64) (bool, error) {
			ps, err := st.Passkeys(ctx, userID)
			return len(ps) > 0, err
		}}
	passkeys, err := httpapi.NewPasskeyService(st, cfg.SiteURL, domains, lockout, logger, twoFactor, nil)
	if err != nil {
		// An RP ID must be a domain name: SITE_URL with an IP address
		// cannot have passkeys.
		logger.Warn("passkeys disabled", "error", err.Error())
		passkeys = nil
	}
	handler := httpapi.NewServer(httpapi.Deps{
		Logger:          logger,
		Resolver:        netguard.NewResolver(cfg.TrustedProxies, cfg.TrustAllProxies, cfg.IsBehindProxy),
		AllowList:       netguard.NewAllowList(cfg.AllowedIPBlocks),
		Cookies:         cookies.Policy{Secure: cfg.SecureCookies},
		Database:        st,
		Capture:         &gatehouse.CaptureService{Store: st},
		Auth:            &gatehouse.AuthService{Store: st, Passwords: hasher, SessionAge: cfg.SessionCookieAge, Guard: lockout, Devices: st, RequireVerifiedEmail: cfg.EmailConfigured(), SSO: domains, TwoFactor: twoFactor},
		Accounts:        accounts,
		SiteURL:         cfg.SiteURL,
		Mail:            mailer,
		Limiter:         limiter,
		Keys:            keyring,
		MultiOrgEnabled: cfg.MultiOrgEnabled,
		SignupRate:      cfg.SignupRate,
		Verifier:        verifier,
		Reset:           reset,
		Invites:         &gatehouse.InviteService{Store: st, Accounts: accounts, SSO: domains},
		Domains:         domains,
		AuthGeneration:  st,
		APIKeys:         &gatehouse.APIKeyService{Store: st},
		Organizations:   &gatehouse.OrganizationService{Store: st},
		Flags:           &gatehouse.FlagService{Store: st},
		TwoFactor:       twoFactor,
		Passkeys:        passkeys,
		SSO:             sso,
		SocialProviders: socialProviders,
		SAML: &saml.Service{Admin: &gatehouse.SAMLAdmin{Domains: domains, Store: st}, Store: st, SiteURL: cfg.SiteURL,
			Key: keyring.For(saml.PurposeRequest), Logger: logger, Skew: cfg.SAML.ClockSkew,
			Organization: saml.SPOrganization{Name: cfg.SAML.Organization, ContactEmail: cfg.SAML.ContactEmail}, AllowPlainMetadataURL: cfg.Debug},
		Version: version,
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

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests", "grace", shutdownGrace.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
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
	st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL.Reveal(), DataDir: cfg.DataDir})
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
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = 3*time.Second, 2*time.Second, 2*time.Second
	client := redis.NewClient(opt)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		client.Close()
		return nil, nil, fmt.Errorf("connecting to Redis at REDIS_URL: %w", err)
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
	return mail.NewMailer(st, sender, cfg.Email.DefaultFrom, logger)
}
