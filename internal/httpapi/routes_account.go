package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addAccountRoutes registers the signed-in user's account endpoints.
func addAccountRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	account := &api.Account{Auth: auth, Accounts: d.Accounts, Members: d.Members, Lifecycle: d.Lifecycle, Passkeys: d.Passkeys}
	mux.Handle("PATCH /api/users/@me", auth.User(account.Update))
	mux.Handle("GET /api/users/@me/login_sessions", auth.User(account.ListSessions))
	mux.Handle("DELETE /api/users/@me/login_sessions/{id}", auth.User(account.RevokeSession))
	mux.Handle("POST /api/users/@me/login_sessions/revoke_others", auth.User(account.RevokeOtherSessions))
}
