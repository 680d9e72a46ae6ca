package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addDomainRoutes registers organization domains (docs/posthog-compat.md#organization-domains): members read,
// admins write and verify.
func addDomainRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	domains := &api.Domains{Auth: auth, Domains: d.Domains}
	mux.Handle("GET /api/organizations/{org}/domains", auth.User(domains.List))
	mux.Handle("POST /api/organizations/{org}/domains", auth.User(domains.Create))
	mux.Handle("GET /api/organizations/{org}/domains/{id}", auth.User(domains.Get))
	mux.Handle("PATCH /api/organizations/{org}/domains/{id}", auth.User(domains.Update))
	mux.Handle("DELETE /api/organizations/{org}/domains/{id}", auth.User(domains.Delete))
	mux.Handle("POST /api/organizations/{org}/domains/{id}/verify", auth.User(domains.Verify))
}
