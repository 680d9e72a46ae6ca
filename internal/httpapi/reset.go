package httpapi

import "net/http"

// addResetRoutes registers the password-reset endpoints.
func addResetRoutes(mux *http.ServeMux, d Deps) {}
