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
	mux.Handle("POST /api/login", httpauth.SignInEndpoint(d, api.HandleLogin(d)))
	mux.Handle("POST /api/login/precheck", api.HandlePrecheck(d))
	mux.Handle("POST /api/logout", api.HandleLogout(d, false))
	mux.Handle("POST /logout", api.HandleLogout(d, true))
	mux.Handle("GET /api/users/@me", api.HandleMe(d))

	mux.Handle("POST /api/signup", httpauth.SignInEndpoint(d, api.HandleSignup(d)))
	mux.Handle("POST /api/users/verify_email", httpauth.SignInEndpoint(d, api.HandleVerifyEmail(d)))
	mux.Handle("POST /api/users/request_email_verification", api.HandleRequestVerification(d))
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
