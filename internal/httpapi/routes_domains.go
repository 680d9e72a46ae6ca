package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addDomainRoutes registers organization domains (docs/posthog-compat.md#organization-domains): members read,
// admins write and verify.
func addDomainRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET /api/organizations/{org}/domains", api.HandleListDomains(d))
	mux.Handle("POST /api/organizations/{org}/domains", api.HandleCreateDomain(d))
	mux.Handle("GET /api/organizations/{org}/domains/{id}", api.HandleGetDomain(d))
	mux.Handle("PATCH /api/organizations/{org}/domains/{id}", api.HandleUpdateDomain(d))
	mux.Handle("DELETE /api/organizations/{org}/domains/{id}", api.HandleDeleteDomain(d))
	mux.Handle("POST /api/organizations/{org}/domains/{id}/verify", api.HandleVerifyDomain(d))
}
