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
	auth := &d
	config := &api.RemoteConfig{Auth: auth, Flags: d.Flags, AuthGeneration: d.AuthGeneration}
	for _, prefix := range []string{"/api/projects/{project}", "/api/environments/{project}"} {
		mux.Handle("GET "+prefix+"/feature_flags/{id}/remote_config", httpauth.ScopedRoute(api.LocalEvalRoute, auth.Session(api.ChallengeBearer(config.Payload))))
	}
	mux.Handle("/array/{token}/config", httpauth.Handler(config.Config))
	mux.Handle("/array/{token}/config.js", httpauth.Handler(config.Script))
}
