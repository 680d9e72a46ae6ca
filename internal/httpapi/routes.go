package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addRoutes lists every route. Paths are registered without a trailing
// slash: stripTrailingSlash makes "/e/" reach "/e".
func addRoutes(mux *http.ServeMux, d httpauth.Auth) {
	health := &api.Health{Database: d.Database, Redis: d.Redis}
	mux.Handle("GET /_health", httpauth.Handler(health.Live))
	mux.Handle("GET /_readyz", httpauth.Handler(health.Ready))

	capture := &api.Capture{Capture: d.Capture}
	for _, path := range []string{"/e", "/i/v0/e", "/capture", "/track", "/engage", "/batch", "/i/v0/ai/batch"} {
		mux.Handle(path, httpauth.Handler(capture.Ingest))
	}
	mux.Handle("/i/v1/analytics/events", httpauth.Handler(capture.IngestV1))

	// signInEndpoint: these set the session cookie, so they refuse
	// cross-site requests and non-JSON bodies (csrf.go).
	sessions := &api.Sessions{Auth: &d, Sessions: d.Sessions, Accounts: d.Accounts, Domains: d.Domains}
	mux.Handle("POST /api/login", httpauth.SignInEndpoint(d, httpauth.Handler(sessions.Login)))
	mux.Handle("POST /api/login/precheck", httpauth.Handler(sessions.Precheck))
	mux.Handle("POST /api/logout", d.Session(sessions.Logout))
	mux.Handle("POST /logout", d.Session(sessions.LogoutPage))
	mux.Handle("GET /api/users/@me", d.User(sessions.Me))

	signup := &api.Signup{Auth: &d, Verifier: d.Verifier}
	verification := &api.EmailVerification{Auth: &d, Verifier: d.Verifier, Mail: d.Mail}
	mux.Handle("POST /api/signup", httpauth.SignInEndpoint(d, httpauth.Handler(signup.Create)))
	mux.Handle("POST /api/users/verify_email", httpauth.SignInEndpoint(d, httpauth.Handler(verification.Verify)))
	mux.Handle("POST /api/users/request_email_verification", httpauth.Handler(verification.Request))
	addAccountRoutes(mux, d)
	addResetRoutes(mux, d)
	addInviteRoutes(mux, d)
	addDomainRoutes(mux, d)
	addTwoFactorRoutes(mux, d)
	addWebAuthnRoutes(mux, d)
	addAPIKeyRoutes(mux, d)
	addMemberRoutes(mux, d)
	addLifecycleRoutes(mux, d)
	addFlagRoutes(mux, d)
	addRemoteConfigRoutes(mux, d)
	addPageRoutes(mux, d)
	addTwoFactorPageRoutes(mux, d)
	addSocialRoutes(mux, d)
	addSAMLRoutes(mux, d)
	addAuditRoutes(mux, d)

	mux.Handle("/", httpauth.HandleNotFound(d.Logger))
}
