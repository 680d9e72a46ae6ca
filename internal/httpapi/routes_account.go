package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addAccountRoutes registers the signed-in user's account endpoints.
func addAccountRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("PATCH /api/users/@me", api.HandleUpdateMe(d))
	mux.Handle("GET /api/users/@me/login_sessions", api.HandleLoginSessions(d))
	mux.Handle("DELETE /api/users/@me/login_sessions/{id}", api.HandleRevokeSession(d))
	mux.Handle("POST /api/users/@me/login_sessions/revoke_others", api.HandleRevokeOthers(d))
}
