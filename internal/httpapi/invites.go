package httpapi

import "net/http"

// addInviteRoutes registers organization invites and invite signup.
func addInviteRoutes(mux *http.ServeMux, d Deps) {}
