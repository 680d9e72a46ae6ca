package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addOrganizationRoutes registers the organization API. {org} is an
// organization id or "@current".
func addOrganizationRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	organizations := &api.Organizations{Organizations: d.Organizations}
	mux.Handle("GET /api/organizations/{org}", auth.User(organizations.Get))
	mux.Handle("PATCH /api/organizations/{org}", auth.User(organizations.Update))
}
