package httpapi

import "net/http"

// addAccountRoutes registers the signed-in user's account endpoints.
func addAccountRoutes(mux *http.ServeMux, d Deps) {}
