package httpapi

import "net/http"

// addDomainRoutes registers organization domains (docs/posthog-compat.md#organization-domains): members read,
// admins write and verify.
func addDomainRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /api/organizations/{org}/domains", HandleListDomains(d))
	mux.Handle("POST /api/organizations/{org}/domains", HandleCreateDomain(d))
	mux.Handle("GET /api/organizations/{org}/domains/{id}", HandleGetDomain(d))
	mux.Handle("PATCH /api/organizations/{org}/domains/{id}", HandleUpdateDomain(d))
	mux.Handle("DELETE /api/organizations/{org}/domains/{id}", HandleDeleteDomain(d))
	mux.Handle("POST /api/organizations/{org}/domains/{id}/verify", HandleVerifyDomain(d))
}
