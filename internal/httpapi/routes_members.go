package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addMemberRoutes registers the members API, the list of the user's
// organizations and an organization's projects.
func addMemberRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	members := &api.Members{Auth: auth, Members: d.Members}
	mux.Handle("GET /api/organizations", auth.User(members.ListOrganizations))
	mux.Handle("GET /api/organizations/{org}/projects", auth.User(members.ListProjects))
	mux.Handle("GET /api/organizations/{org}/members", auth.User(members.List))
	mux.Handle("GET /api/organizations/{org}/members/{user}", auth.User(members.Get))
	mux.Handle("PATCH /api/organizations/{org}/members/{user}", auth.User(members.Update))
	mux.Handle("PUT /api/organizations/{org}/members/{user}", auth.User(members.Update))
	mux.Handle("DELETE /api/organizations/{org}/members/{user}", auth.User(members.Delete))
}
