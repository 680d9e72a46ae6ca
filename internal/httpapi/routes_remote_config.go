package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addRemoteConfigRoutes registers what PostHog's SDKs read as
// configuration: a remote-configuration flag's payload for server SDKs,
// and the public per-project config document posthog-js loads on every
// page.
func addRemoteConfigRoutes(mux *http.ServeMux, d httpauth.Auth) {
	for _, prefix := range []string{"/api/projects/{project}", "/api/environments/{project}"} {
		mux.Handle("GET "+prefix+"/feature_flags/{id}/remote_config", httpauth.ScopedRoute(api.LocalEvalRoute, api.HandleRemoteConfigPayload(d)))
	}
	mux.Handle("/array/{token}/config", api.HandleProjectConfig(d, false))
	mux.Handle("/array/{token}/config.js", api.HandleProjectConfig(d, true))
}
