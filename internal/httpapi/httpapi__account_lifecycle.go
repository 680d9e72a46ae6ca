package httpapi

import "net/http"

// addLifecycleRoutes registers account deletion; the email change rides
// on PATCH /api/users/@me and the verification link.
func addLifecycleRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("DELETE /api/users/@me", HandleDeleteMe(d))
}
