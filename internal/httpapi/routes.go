package httpapi

import "net/http"

// addRoutes lists every route. Paths are registered without a trailing
// slash: stripTrailingSlash makes "/e/" reach "/e".
func addRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /_health", handleHealth())
	mux.Handle("GET /_readyz", handleReady(d.Logger, d.Database, d.Redis))

	capture := handleCapture(d.Logger, d.Capture)
	for _, path := range []string{"/e", "/i/v0/e", "/capture", "/track", "/engage", "/batch", "/i/v0/ai/batch"} {
		mux.Handle(path, capture)
	}
	mux.Handle("/i/v1/analytics/events", handleCaptureV1(d.Logger, d.Capture))

	// signInEndpoint: these set the session cookie, so they refuse
	// cross-site requests and non-JSON bodies (csrf.go).
	mux.Handle("POST /api/login", signInEndpoint(d, handleLogin(d)))
	mux.Handle("POST /api/login/precheck", handlePrecheck(d))
	mux.Handle("POST /api/logout", handleLogout(d, false))
	mux.Handle("POST /logout", handleLogout(d, true))
	mux.Handle("GET /api/users/@me", handleMe(d))

	mux.Handle("POST /api/signup", signInEndpoint(d, handleSignup(d)))
	mux.Handle("POST /api/users/verify_email", signInEndpoint(d, handleVerifyEmail(d)))
	mux.Handle("POST /api/users/request_email_verification", handleRequestVerification(d))
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

	mux.Handle("/", handleNotFound(d.Logger))
}
