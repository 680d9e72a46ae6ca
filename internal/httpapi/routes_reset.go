package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addResetRoutes registers the password-reset endpoints. They allow
// anonymous callers and ignore any session (so they need no CSRF token):
// the reset token is the credential.
func addResetRoutes(mux *http.ServeMux, d httpauth.Auth) {
	reset := &api.PasswordReset{Reset: d.Reset}
	mux.Handle("POST /api/reset", httpauth.Handler(reset.Request))
	mux.Handle("GET /api/reset/{uuid}", httpauth.Handler(reset.Validate))
	mux.Handle("POST /api/reset/{uuid}", httpauth.Handler(reset.Complete))
}
