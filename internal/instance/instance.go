// Package instance builds one running Gatehouse: every domain service,
// exactly once, from the configuration, and the HTTP handler that serves
// them. `gatehouse serve` and the end-to-end tests both start through New,
// so the tests run the wiring that production runs.
package instance

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/sso/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// Options is what New builds an instance from. Config, Store, Keys,
// Counters and Mail are required; the rest have production defaults.
type Options struct {
	Config *config.Config
	Store  *store.Store
	// Keys derives every per-purpose key from SECRET_KEY.
	Keys *secretkey.Keyring
	// Counters hold the rate limits and the login lockout (the database's
	// or Redis's).
	Counters ratelimit.Counters
	// Mail queues security emails (the outbox).
	Mail   httpapi.Mailer
	Logger *slog.Logger
	// Version is reported by /_health.
	Version string
	// Redis, when the counters live there, is probed by /_readyz.
	Redis httpapi.Pinger

	// Seams for tests; nil keeps production's choice.

	// Now is every service's clock (time.Now).
	Now func() time.Time
	// DNS answers domain-verification lookups (DNS_RESOLVER or the
	// system's resolver).
	DNS gatehouse.TXTResolver
	// Passwords wraps the password checker of logins and profile
	// changes.
	Passwords func(gatehouse.PasswordChecker) gatehouse.PasswordChecker
	// Database is what /_readyz pings (the Store).
	Database httpapi.Pinger
	// PasswordCost is the work of new password hashes
	// (password.DefaultCost); the end-to-end tests use password.TestCost.
	PasswordCost password.Cost
}

// Services are the domain services of one instance.
type Services struct {
	Accounts        *gatehouse.AccountService
	Verifier        *gatehouse.EmailVerifier // nil when email is not configured
	TwoFactor       *gatehouse.TwoFactorService
	Domains         *gatehouse.DomainService
	Reset           *gatehouse.ResetService
	SocialProviders *oauth.Registry
	Invites         *gatehouse.InviteService
	SSO             *gatehouse.SSOService
	Passkeys        *gatehouse.PasskeyService // nil when SITE_URL cannot be a relying party
	Capture         *gatehouse.CaptureService
	Auth            *gatehouse.AuthService
	APIKeys         *gatehouse.APIKeyService
	Organizations   *gatehouse.OrganizationService
	Audit           *gatehouse.AuditService
	Members         *gatehouse.MemberService
	Lifecycle       *gatehouse.AccountLifecycle
	Flags           *gatehouse.FlagService
	SAML            *saml.Service
	// Generation reads the store's auth generation, shared by the requests
	// that arrive together: capture and the key-authenticated routes use
	// the same reader.
	Generation gatehouse.GenerationSource
}

// Instance is a built Gatehouse: its services and the handler serving
// every route.
type Instance struct {
	Services *Services
	Handler  http.Handler
}

// New builds every service once and the handler over them. The caller
// waits for Services.Reset (its links may still be queueing) before the
// mailer stops.
func New(o Options) *Instance {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := o.Config
	limiter := ratelimit.New(o.Counters)
	lockout := ratelimit.NewLoginLockout(limiter, int64(cfg.AxesFailureLimit), cfg.AxesCooloffTime)
	s := newServices(o, limiter, lockout)
	var database httpapi.Pinger = o.Store
	if o.Database != nil {
		database = o.Database
	}
	h := httpapi.NewServer(httpapi.Deps{
		Logger:          o.Logger,
		Resolver:        netguard.NewResolver(cfg.TrustedProxies, cfg.TrustAllProxies, cfg.IsBehindProxy),
		AllowList:       netguard.NewAllowList(cfg.AllowedIPBlocks),
		Cookies:         cookies.Policy{Secure: cfg.SecureCookies},
		Database:        database,
		Capture:         s.Capture,
		Sessions:        s.Auth,
		Accounts:        s.Accounts,
		SiteURL:         cfg.SiteURL,
		Mail:            o.Mail,
		Limiter:         limiter,
		Keys:            o.Keys,
		MultiOrgEnabled: cfg.MultiOrgEnabled,
		SignupRate:      cfg.SignupRate,
		Verifier:        s.Verifier,
		Reset:           s.Reset,
		Invites:         s.Invites,
		Domains:         s.Domains,
		AuthGeneration:  s.Generation,
		APIKeys:         s.APIKeys,
		Organizations:   s.Organizations,
		Audit:           s.Audit,
		Members:         s.Members,
		Lifecycle:       s.Lifecycle,
		Flags:           s.Flags,
		TwoFactor:       s.TwoFactor,
		Passkeys:        s.Passkeys,
		SSO:             s.SSO,
		SocialProviders: s.SocialProviders,
		SAML:            s.SAML,
		Version:         o.Version,
		Redis:           o.Redis,
	})
	return &Instance{Services: s, Handler: h}
}

// newServices builds every domain service with the limiter, the login
// lockout and the mailer they share.
func newServices(o Options, limiter *ratelimit.Limiter, lockout *ratelimit.LoginLockout) *Services {
	cfg, st, keyring, logger, now := o.Config, o.Store, o.Keys, o.Logger, o.Now
	s := &Services{}
	hasher := password.NewHasher(0, 0)
	if o.PasswordCost != (password.Cost{}) {
		hasher.WithCost(o.PasswordCost)
	}
	var passwords gatehouse.PasswordChecker = hasher
	if o.Passwords != nil {
		passwords = o.Passwords(passwords)
	}
	s.Accounts = &gatehouse.AccountService{Store: st, HashPassword: hasher.HashNow, CheckPassword: password.CheckStrength, Passwords: passwords, Guard: lockout}
	if cfg.EmailConfigured() {
		s.Verifier = &gatehouse.EmailVerifier{Store: st, Key: keyring.For(secretkey.PurposeEmailVerify), Now: now}
	}
	s.TwoFactor = &gatehouse.TwoFactorService{Store: st, Secrets: keyring.For(secretkey.PurposeTOTPSecret), EmailKey: keyring.For(secretkey.PurposeEmailMFA),
		EmailMFA: cfg.EmailMFAEnabled, Limit: ratelimit.TwoFactorLimit(limiter), Codes: ratelimit.NewTwoFactorGuard(limiter), Now: now}
	dns := o.DNS
	if dns == nil {
		dns = DNSResolver(cfg.DNSResolver)
	}
	s.Domains = &gatehouse.DomainService{Store: st, Resolver: dns, Logger: logger, Now: now}
	s.Reset = &gatehouse.ResetService{Store: st, Key: keyring.For(secretkey.PurposePasswordReset), HashPassword: hasher.Hash,
		CheckPassword: password.CheckStrength, SiteURL: cfg.SiteURL.String(), Throttle: ratelimit.ResetThrottle(limiter),
		Notify: func(ctx context.Context, to, subject, text string) error {
			return o.Mail.Queue(ctx, mail.Message{To: to, Subject: subject, Text: text})
		},
		SSO: s.Domains, Lockout: lockout, Logger: logger, Now: now}
	s.SocialProviders = oauth.NewRegistry(cfg.SocialProviders, cfg.SiteURL, nil)
	s.Domains.ProviderConfigured = s.SocialProviders.Configured
	s.Invites = &gatehouse.InviteService{Store: st, Accounts: s.Accounts, SSO: s.Domains, Now: now}
	s.SSO = &gatehouse.SSOService{Store: st, Domains: s.Domains, MultiOrgEnabled: cfg.MultiOrgEnabled,
		Invites: s.Invites, Now: now,
		HasPasskeys: func(ctx context.Context, userID int64) (bool, error) {
			ps, err := st.Passkeys(ctx, userID)
			return len(ps) > 0, err
		}}
	passkeys, err := gatehouse.NewPasskeyService(st, cfg.SiteURL)
	if err != nil {
		// An RP ID must be a domain name: SITE_URL with an IP address
		// cannot have passkeys.
		logger.Warn("passkeys disabled", "error", err.Error())
	} else {
		passkeys.SSO, passkeys.Guard, passkeys.Logger, passkeys.Now = s.Domains, lockout, logger, now
		s.Passkeys = passkeys
		// Passkeys are a second factor too.
		s.TwoFactor.Passkeys = passkeys
	}
	s.Generation = gatehouse.SharedGenerationReads(st)
	s.Capture = &gatehouse.CaptureService{Store: st, Generation: s.Generation}
	s.Auth = &gatehouse.AuthService{Store: st, Passwords: passwords, SessionAge: cfg.SessionCookieAge, Guard: lockout, Devices: st,
		RequireVerifiedEmail: cfg.EmailConfigured(), SSO: s.Domains, TwoFactor: s.TwoFactor, Now: now}
	// Legacy key hashes get one slot of their own: strings presented
	// as keys never take more than a core, nor the sign-ins' slots.
	s.APIKeys = &gatehouse.APIKeyService{Store: st, LegacyHashes: password.NewHasher(1, 0), Generation: st, Now: now}
	s.Organizations = &gatehouse.OrganizationService{Store: st, TwoFactorEnabled: s.TwoFactor.IsEnabled, Now: now}
	s.Audit = &gatehouse.AuditService{Store: st, Refusals: st, Organizations: &gatehouse.OrganizationService{Store: st, Now: now}}
	s.Members = &gatehouse.MemberService{Store: st, Now: now}
	s.Lifecycle = &gatehouse.AccountLifecycle{Store: st, SSO: s.Domains, Key: keyring.For(secretkey.PurposeEmailVerify), Now: now}
	s.Flags = &gatehouse.FlagService{Store: st, Now: now, Generation: s.Generation}
	s.SAML = &saml.Service{Admin: &gatehouse.SAMLAdmin{Domains: s.Domains, Store: st}, Store: st, SiteURL: cfg.SiteURL,
		Key: keyring.For(saml.PurposeRequest), Logger: logger, Skew: cfg.SAML.ClockSkew, Now: now,
		Organization: saml.SPOrganization{Name: cfg.SAML.Organization, ContactEmail: cfg.SAML.ContactEmail}, AllowPlainMetadataURL: cfg.Debug}
	return s
}

// DNSResolver is the resolver domain verification uses: the system's, or
// the DNS server at addr (DNS_RESOLVER) when set.
func DNSResolver(addr string) *net.Resolver {
	if addr == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		d := net.Dialer{Timeout: 5 * time.Second}
		return d.DialContext(ctx, network, addr)
	}}
}
