package httpapi

import "net/http"

// addAccountRoutes registers the signed-in user's account endpoints.
func addAccountRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("PATCH /api/users/@me", HandleUpdateMe(d))
	mux.Handle("GET /api/users/@me/login_sessions", HandleLoginSessions(d))
	mux.Handle("DELETE /api/users/@me/login_sessions/{id}", HandleRevokeSession(d))
	mux.Handle("POST /api/users/@me/login_sessions/revoke_others", HandleRevokeOthers(d))
}
