package httpapi

import "net/http"

// addInviteRoutes registers organization invites and invite signup. The
// organization in the path is "@current" or an organization id the user
// belongs to. Invite signup is open to anyone holding the invite id and
// does not depend on MULTI_ORG_ENABLED: invites are how a single-org
// instance grows.
func addInviteRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /api/organizations/{org}/invites", HandleListInvites(d))
	mux.Handle("POST /api/organizations/{org}/invites", HandleCreateInvite(d))
	mux.Handle("DELETE /api/organizations/{org}/invites/{id}", HandleDeleteInvite(d))
	mux.Handle("GET /api/signup/{invite}", HandleInviteInfo(d))
	mux.Handle("POST /api/signup/{invite}", SignInEndpoint(d, WithSession(d, HandleInviteSignup(d))))
}
