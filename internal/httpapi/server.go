// Package httpapi is Gatehouse's HTTP interface: the JSON API on PostHog's
// paths, event capture, health checks, and the middleware every request
// passes through. It is also the one place domain errors become HTTP
// responses.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/sso/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
)

// NewServer returns the handler that serves every Gatehouse route.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.AuthGeneration = gatehouse.SharedGenerationReads(d.AuthGeneration)
	if d.Keys == nil {
		d.Keys = secretkey.NewKeyring(secretkey.Generate())
	}
	auth := &httpauth.Auth{Logger: d.Logger, AllowList: d.AllowList, Cookies: d.Cookies, Sessions: d.Sessions, Accounts: d.Accounts,
		AuthGeneration: d.AuthGeneration, Domains: d.Domains, SiteURL: d.SiteURL, Audit: d.Audit, Mail: d.Mail, Limiter: d.Limiter,
		MultiOrgEnabled: d.MultiOrgEnabled, SignupRate: d.SignupRate, Verifier: d.Verifier, APIKeys: d.APIKeys,
		Organizations: d.Organizations, Lifecycle: d.Lifecycle, Flags: d.Flags, TwoFactor: d.TwoFactor,
		SocialProviders: d.SocialProviders, KeyRoutes: map[string]httpauth.KeyRoute{}, CSRFKey: d.Keys.For(secretkey.PurposeCSRF)}
	mux := http.NewServeMux()
	routes(mount{mux: mux, keys: auth.KeyRoutes}, d, auth)
	var h http.Handler = metrics.Route(mux)
	h = httpauth.CheckRequestText(mux, h)
	h = httpauth.CanonicalHost(d.SiteURL, h)
	h = httpauth.SecurityHeaders(h)
	h = netguard.MiddlewareWith(d.Resolver, d.AllowList, netguard.Hooks{Context: func(ctx context.Context, r *http.Request, client netip.Addr) context.Context {
		return httpauth.WithLogger(httpauth.WithAuditClient(ctx, r, client), d.Logger)
	}, Blocked: httpauth.AuditAllowListRefusal(*auth)}, h)
	h = httpauth.StripTrailingSlash(h)
	h = httpauth.LogRequests(d.Logger, d.Resolver, h)
	h = httpauth.RecoverPanics(d.Logger, h)
	h = metrics.Middleware(h) // outermost: it also counts the 500 of a recovered panic
	return h
}

// Deps is every service the HTTP layer serves with; internal/instance
// builds it once. NewServer hands each handler struct only the services it
// uses, and httpauth only what authenticating and answering need.
type Deps struct {
	Logger    *slog.Logger
	Resolver  *netguard.Resolver
	AllowList *netguard.AllowList // nil or empty: no IP restriction
	Cookies   cookies.Policy
	Database  Pinger
	Capture   *gatehouse.CaptureService
	Sessions  *gatehouse.AuthService
	Accounts  *gatehouse.AccountService
	// Invites runs organization invites and invite signup.
	Invites *gatehouse.InviteService
	// AuthGeneration reads the database's auth generation, which lets
	// key-authenticated requests be served from the services' caches
	// (gatehouse/gencache.go); nil: no caching.
	AuthGeneration gatehouse.GenerationSource
	// Domains manages organization domains and answers which sign-in
	// method an email's domain enforces (precheck).
	Domains *gatehouse.DomainService
	// Reset runs the password-reset flow (/api/reset/).
	Reset *gatehouse.ResetService
	// SiteURL is this instance's public URL; browsers' Origin must match
	// it on state-changing requests.
	SiteURL *url.URL
	// Audit reads the security audit log; nil: its endpoints are absent.
	Audit *gatehouse.AuditService
	// Mail queues security emails; nil drops them (tests that do not care).
	Mail Mailer
	// Limiter applies throttles (reset requests, signup, …).
	Limiter *ratelimit.Limiter
	// Keys derives the per-purpose keys for signed tokens.
	Keys *secretkey.Keyring
	// MultiOrgEnabled lets anyone sign up a new organization; otherwise
	// signup works only on an instance with no organization yet.
	MultiOrgEnabled bool
	// SignupRate limits signups per client address (SIGNUP_RATE).
	SignupRate ratelimit.Rate
	// Verifier makes and checks email-verification links; nil when email
	// is not configured (then signups are not asked to verify).
	Verifier *gatehouse.EmailVerifier
	// APIKeys authenticates and manages personal API keys; nil: requests
	// carrying a key are treated as anonymous.
	APIKeys *gatehouse.APIKeyService
	// Organizations serves the organization and project APIs.
	Organizations *gatehouse.OrganizationService
	// Members runs the members API and switching the current
	// organization.
	Members *gatehouse.MemberService
	// Lifecycle runs email changes and account deletion.
	Lifecycle *gatehouse.AccountLifecycle
	// Flags manages feature flags, serves their definitions to server SDKs
	// and evaluates them for /flags and /decide.
	Flags *gatehouse.FlagService
	// TwoFactor runs TOTP, backup codes, the second login step, email
	// MFA, trusted devices and 2FA enforcement.
	TwoFactor *gatehouse.TwoFactorService
	// Passkeys runs WebAuthn: registration, passwordless login and the
	// passkey second step; nil: no passkeys.
	Passkeys *gatehouse.PasskeyService
	// SSO runs the single sign-on pipeline (social login and SAML);
	// nil: neither is available.
	SSO *gatehouse.SSOService
	// SocialProviders are the configured OAuth2/OpenID Connect backends
	// (SOCIAL_AUTH_*); nil: none.
	SocialProviders *oauth.Registry
	// SAML is the SAML service provider of every organization domain
	// (login, ACS, metadata); nil: SAML is unavailable.
	SAML    *saml.Service
	Version string
	// Redis, when counters live there, is probed by /_readyz with the
	// database; nil: no Redis.
	Redis Pinger
}

// Pinger checks that a dependency (the database, Redis) answers.
type Pinger = httpauth.Pinger

// Mailer queues an email; delivery happens in the background.
type Mailer = httpauth.Mailer

// KeyRoutes is the mount table's rule for personal API keys on each route
// that takes them, by mux pattern (tests check every one).
func KeyRoutes() map[string]httpauth.KeyRoute {
	m := mount{mux: http.NewServeMux(), keys: map[string]httpauth.KeyRoute{}}
	routes(m, Deps{Audit: &gatehouse.AuditService{}}, &httpauth.Auth{})
	return m.keys
}
