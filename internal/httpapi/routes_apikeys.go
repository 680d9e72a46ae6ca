package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addAPIKeyRoutes registers personal API key management and the
// organization and project APIs around keys.
func addAPIKeyRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	keys := &api.APIKeys{APIKeys: d.APIKeys}
	mux.Handle("GET /api/personal_api_keys", auth.User(keys.List))
	mux.Handle("POST /api/personal_api_keys", auth.User(keys.Create))
	mux.Handle("GET /api/personal_api_keys/{id}", auth.User(keys.Get))
	mux.Handle("PATCH /api/personal_api_keys/{id}", auth.User(keys.Update))
	mux.Handle("PUT /api/personal_api_keys/{id}", auth.User(keys.Update))
	mux.Handle("DELETE /api/personal_api_keys/{id}", auth.User(keys.Delete))
	mux.Handle("POST /api/personal_api_keys/{id}/roll", auth.User(keys.Roll))
	addOrganizationRoutes(mux, d)
	addProjectRoutes(mux, d)
}
