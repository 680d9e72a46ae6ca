package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addOrganizationRoutes registers the organization API. {org} is an
// organization id or "@current".
func addOrganizationRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET /api/organizations/{org}", api.HandleGetOrganization(d))
	mux.Handle("PATCH /api/organizations/{org}", api.HandleUpdateOrganization(d))
}
