package httpapi

import "net/http"

// addRemoteConfigRoutes registers what PostHog's SDKs read as
// configuration: a remote-configuration flag's payload for server SDKs,
// and the public per-project config document posthog-js loads on every
// page.
func addRemoteConfigRoutes(mux *http.ServeMux, d Deps) {
	for _, prefix := range []string{"/api/projects/{project}", "/api/environments/{project}"} {
		mux.Handle("GET "+prefix+"/feature_flags/{id}/remote_config", ScopedRoute(LocalEvalRoute, HandleRemoteConfigPayload(d)))
	}
	mux.Handle("/array/{token}/config", HandleProjectConfig(d, false))
	mux.Handle("/array/{token}/config.js", HandleProjectConfig(d, true))
}
