package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addInviteRoutes registers organization invites and invite signup. The
// organization in the path is "@current" or an organization id the user
// belongs to. Invite signup is open to anyone holding the invite id and
// does not depend on MULTI_ORG_ENABLED: invites are how a single-org
// instance grows.
func addInviteRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	invites := &api.Invites{Auth: auth, Invites: d.Invites, Accounts: d.Accounts}
	mux.Handle("GET /api/organizations/{org}/invites", auth.User(invites.List))
	mux.Handle("POST /api/organizations/{org}/invites", auth.User(invites.Create))
	mux.Handle("DELETE /api/organizations/{org}/invites/{id}", auth.User(invites.Delete))
	mux.Handle("GET /api/signup/{invite}", httpauth.Handler(invites.Info))
	mux.Handle("POST /api/signup/{invite}", httpauth.SignInEndpoint(d, auth.Session(invites.Signup)))
}
