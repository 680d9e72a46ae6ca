package httpauth

import (
	"context"
	"log/slog"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
	"github.com/gatehouse-auth/gatehouse/internal/sso/oauth"
)

// Pinger checks that a dependency (the database, Redis) answers; /_readyz
// uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Auth is what authenticating a request and answering it need: the
// services behind sessions, personal API keys, CSRF, sign-in and its
// second step, and the cookies and mail that go with them. NewServer
// builds it once; handler structs that sign in or read the caller hold a
// pointer to it.
type Auth struct {
	Logger    *slog.Logger
	AllowList *netguard.AllowList // nil or empty: no IP restriction
	Cookies   cookies.Policy
	Sessions  *gatehouse.AuthService
	Accounts  *gatehouse.AccountService
	// AuthGeneration reads the database's auth generation, which lets
	// key-authenticated requests be served from the services' caches
	// (gatehouse/gencache.go); nil: no caching.
	AuthGeneration gatehouse.GenerationSource
	// Domains manages organization domains and answers which sign-in
	// method an email's domain enforces (precheck).
	Domains *gatehouse.DomainService
	// SiteURL is this instance's public URL; browsers' Origin must match
	// it on state-changing requests.
	SiteURL *url.URL
	// Audit reads the security audit log; nil: its endpoints are absent.
	Audit *gatehouse.AuditService
	// Mail queues security emails; nil drops them (tests that do not care).
	Mail Mailer
	// Limiter applies throttles (reset requests, signup, …).
	Limiter *ratelimit.Limiter
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
	// Lifecycle runs email changes and account deletion.
	Lifecycle *gatehouse.AccountLifecycle
	// Flags manages feature flags, serves their definitions to server SDKs
	// and evaluates them for /flags and /decide.
	Flags *gatehouse.FlagService
	// TwoFactor runs TOTP, backup codes, the second login step, email
	// MFA, trusted devices and 2FA enforcement.
	TwoFactor *gatehouse.TwoFactorService
	// SocialProviders are the configured OAuth2/OpenID Connect backends
	// (SOCIAL_AUTH_*); nil: none.
	SocialProviders *oauth.Registry

	// KeyRoutes says, by mux pattern, what personal API keys may do on
	// each route (the mount table in internal/httpapi fills it); a route
	// it does not list refuses keys with 403 "This action does not
	// support Personal API Key access".
	KeyRoutes map[string]KeyRoute

	// csrfKey signs the session-bound CSRF tokens (csrf.go); NewServer
	// derives it from Keys.
	CSRFKey *secretkey.Key
}

// Mailer queues an email; delivery happens in the background.
type Mailer interface {
	Queue(ctx context.Context, m mail.Message) error
}
