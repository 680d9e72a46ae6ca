package main

import (
	"context"
	"log/slog"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/sso/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// services are the domain services of one running instance, each built
// once by newServices and handed to the HTTP layer.
type services struct {
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
	// that arrive together; serve hands the same reader to the server.
	Generation gatehouse.GenerationSource
}

// newServices builds every domain service from the configuration and the
// store, with the limiter, the login lockout and the mailer they share.
// The caller waits for Reset (its links may still be queueing) before the
// mailer stops.
func newServices(cfg *config.Config, st *store.Store, keyring *secretkey.Keyring, limiter *ratelimit.Limiter,
	lockout *ratelimit.LoginLockout, mailer *mail.Mailer, logger *slog.Logger,
) *services {
	s := &services{}
	hasher := password.NewHasher(0, 0)
	s.Accounts = &gatehouse.AccountService{Store: st, HashPassword: password.Hash, CheckPassword: password.CheckStrength, Passwords: hasher, Guard: lockout}
	if cfg.EmailConfigured() {
		s.Verifier = &gatehouse.EmailVerifier{Store: st, Key: keyring.For(secretkey.PurposeEmailVerify)}
	}
	s.TwoFactor = &gatehouse.TwoFactorService{Store: st, Secrets: keyring.For(secretkey.PurposeTOTPSecret), EmailKey: keyring.For(secretkey.PurposeEmailMFA),
		EmailMFA: cfg.EmailMFAEnabled, Limit: ratelimit.TwoFactorLimit(limiter), Codes: ratelimit.NewTwoFactorGuard(limiter)}
	s.Domains = &gatehouse.DomainService{Store: st, Resolver: dnsResolver(cfg.DNSResolver), Logger: logger}
	s.Reset = &gatehouse.ResetService{Store: st, Key: keyring.For(secretkey.PurposePasswordReset), HashPassword: hasher.Hash,
		CheckPassword: password.CheckStrength, SiteURL: cfg.SiteURL.String(), Throttle: ratelimit.ResetThrottle(limiter),
		Notify: func(ctx context.Context, to, subject, text string) error {
			return mailer.Queue(ctx, mail.Message{To: to, Subject: subject, Text: text})
		},
		SSO: s.Domains, Lockout: lockout, Logger: logger}
	s.SocialProviders = oauth.NewRegistry(cfg.SocialProviders, cfg.SiteURL, nil)
	s.Domains.ProviderConfigured = s.SocialProviders.Configured
	s.Invites = &gatehouse.InviteService{Store: st, Accounts: s.Accounts, SSO: s.Domains}
	s.SSO = &gatehouse.SSOService{Store: st, Domains: s.Domains, MultiOrgEnabled: cfg.MultiOrgEnabled,
		Invites: s.Invites,
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
		passkeys.SSO, passkeys.Guard, passkeys.Logger = s.Domains, lockout, logger
		s.Passkeys = passkeys
		// Passkeys are a second factor too.
		s.TwoFactor.Passkeys = passkeys
	}
	// The generation reads of capture and of the key-authenticated routes
	// are shared (httpapi.NewServer keeps an already shared source).
	s.Generation = gatehouse.SharedGenerationReads(st)
	s.Capture = &gatehouse.CaptureService{Store: st, Generation: s.Generation}
	s.Auth = &gatehouse.AuthService{Store: st, Passwords: hasher, SessionAge: cfg.SessionCookieAge, Guard: lockout, Devices: st,
		RequireVerifiedEmail: cfg.EmailConfigured(), SSO: s.Domains, TwoFactor: s.TwoFactor}
	// Legacy key hashes get one slot of their own: strings presented
	// as keys never take more than a core, nor the sign-ins' slots.
	s.APIKeys = &gatehouse.APIKeyService{Store: st, LegacyHashes: password.NewHasher(1, 0), Generation: st}
	s.Organizations = &gatehouse.OrganizationService{Store: st, TwoFactorEnabled: s.TwoFactor.IsEnabled}
	s.Audit = &gatehouse.AuditService{Store: st, Refusals: st, Organizations: &gatehouse.OrganizationService{Store: st}}
	s.Members = &gatehouse.MemberService{Store: st}
	s.Lifecycle = &gatehouse.AccountLifecycle{Store: st, SSO: s.Domains, Key: keyring.For(secretkey.PurposeEmailVerify)}
	s.Flags = &gatehouse.FlagService{Store: st}
	s.SAML = &saml.Service{Admin: &gatehouse.SAMLAdmin{Domains: s.Domains, Store: st}, Store: st, SiteURL: cfg.SiteURL,
		Key: keyring.For(saml.PurposeRequest), Logger: logger, Skew: cfg.SAML.ClockSkew,
		Organization: saml.SPOrganization{Name: cfg.SAML.Organization, ContactEmail: cfg.SAML.ContactEmail}, AllowPlainMetadataURL: cfg.Debug}
	return s
}
