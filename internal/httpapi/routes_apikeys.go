package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addAPIKeyRoutes registers personal API key management and the
// organization and project APIs around keys.
func addAPIKeyRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET /api/personal_api_keys", api.HandleListAPIKeys(d))
	mux.Handle("POST /api/personal_api_keys", api.HandleCreateAPIKey(d))
	mux.Handle("GET /api/personal_api_keys/{id}", api.HandleGetAPIKey(d))
	mux.Handle("PATCH /api/personal_api_keys/{id}", api.HandleUpdateAPIKey(d))
	mux.Handle("PUT /api/personal_api_keys/{id}", api.HandleUpdateAPIKey(d))
	mux.Handle("DELETE /api/personal_api_keys/{id}", api.HandleDeleteAPIKey(d))
	mux.Handle("POST /api/personal_api_keys/{id}/roll", api.HandleRollAPIKey(d))
	addOrganizationRoutes(mux, d)
	addProjectRoutes(mux, d)
}
