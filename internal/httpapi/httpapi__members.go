package httpapi

import "net/http"

// addMemberRoutes registers the members API, the list of the user's
// organizations and an organization's projects.
func addMemberRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /api/organizations", HandleListOrganizations(d))
	mux.Handle("GET /api/organizations/{org}/projects", HandleOrganizationProjects(d))
	mux.Handle("GET /api/organizations/{org}/members", HandleListMembers(d))
	mux.Handle("GET /api/organizations/{org}/members/{user}", HandleGetMember(d))
	mux.Handle("PATCH /api/organizations/{org}/members/{user}", HandleSetMemberLevel(d))
	mux.Handle("PUT /api/organizations/{org}/members/{user}", HandleSetMemberLevel(d))
	mux.Handle("DELETE /api/organizations/{org}/members/{user}", HandleRemoveMember(d))
}
