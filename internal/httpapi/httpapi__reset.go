package httpapi

import "net/http"

// addResetRoutes registers the password-reset endpoints. They allow
// anonymous callers and ignore any session (so they need no CSRF token):
// the reset token is the credential.
func addResetRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("POST /api/reset", HandleResetRequest(d))
	mux.Handle("GET /api/reset/{uuid}", HandleResetValidate(d))
	mux.Handle("POST /api/reset/{uuid}", HandleResetComplete(d))
}
