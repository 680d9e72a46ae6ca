package httpapi

import "net/http"

// addAPIKeyRoutes registers personal API key management and the
// organization and project APIs around keys.
func addAPIKeyRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /api/personal_api_keys", HandleListAPIKeys(d))
	mux.Handle("POST /api/personal_api_keys", HandleCreateAPIKey(d))
	mux.Handle("GET /api/personal_api_keys/{id}", HandleGetAPIKey(d))
	mux.Handle("PATCH /api/personal_api_keys/{id}", HandleUpdateAPIKey(d))
	mux.Handle("PUT /api/personal_api_keys/{id}", HandleUpdateAPIKey(d))
	mux.Handle("DELETE /api/personal_api_keys/{id}", HandleDeleteAPIKey(d))
	mux.Handle("POST /api/personal_api_keys/{id}/roll", HandleRollAPIKey(d))
	addOrganizationRoutes(mux, d)
	addProjectRoutes(mux, d)
}
