package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addMemberRoutes registers the members API, the list of the user's
// organizations and an organization's projects.
func addMemberRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET /api/organizations", api.HandleListOrganizations(d))
	mux.Handle("GET /api/organizations/{org}/projects", api.HandleOrganizationProjects(d))
	mux.Handle("GET /api/organizations/{org}/members", api.HandleListMembers(d))
	mux.Handle("GET /api/organizations/{org}/members/{user}", api.HandleGetMember(d))
	mux.Handle("PATCH /api/organizations/{org}/members/{user}", api.HandleSetMemberLevel(d))
	mux.Handle("PUT /api/organizations/{org}/members/{user}", api.HandleSetMemberLevel(d))
	mux.Handle("DELETE /api/organizations/{org}/members/{user}", api.HandleRemoveMember(d))
}
