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
	mux.Handle("GET /api/organizations/{org}/invites", api.HandleListInvites(d))
	mux.Handle("POST /api/organizations/{org}/invites", api.HandleCreateInvite(d))
	mux.Handle("DELETE /api/organizations/{org}/invites/{id}", api.HandleDeleteInvite(d))
	mux.Handle("GET /api/signup/{invite}", api.HandleInviteInfo(d))
	mux.Handle("POST /api/signup/{invite}", httpauth.SignInEndpoint(d, httpauth.WithSession(d, api.HandleInviteSignup(d))))
}
