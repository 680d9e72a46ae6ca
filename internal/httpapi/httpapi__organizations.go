package httpapi

import "net/http"

// addOrganizationRoutes registers the organization API. {org} is an
// organization id or "@current".
func addOrganizationRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /api/organizations/{org}", HandleGetOrganization(d))
	mux.Handle("PATCH /api/organizations/{org}", HandleUpdateOrganization(d))
}
