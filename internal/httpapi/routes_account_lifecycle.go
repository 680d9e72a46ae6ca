package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addLifecycleRoutes registers account deletion; the email change rides
// on PATCH /api/users/@me and the verification link.
func addLifecycleRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	lifecycle := &api.Lifecycle{Auth: auth, Lifecycle: d.Lifecycle}
	mux.Handle("DELETE /api/users/@me", auth.User(lifecycle.Delete))
}
