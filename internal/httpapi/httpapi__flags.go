package httpapi

import "net/http"

// addFlagRoutes registers the feature-flag API (session or personal key
// with feature_flag scopes), the local-evaluation endpoints server SDKs
// poll, and the public /flags and /decide.
func addFlagRoutes(mux *http.ServeMux, d Deps) {
	for _, prefix := range []string{"/api/projects/{project}", "/api/environments/{project}"} {
		base := prefix + "/feature_flags"
		mux.Handle("GET "+base, Scoped("feature_flag", RequireUser(d, HandleFlagList(d))))
		mux.Handle("POST "+base, Scoped("feature_flag", RequireUser(d, HandleFlagCreate(d))))
		mux.Handle("GET "+base+"/{id}", Scoped("feature_flag", RequireUser(d, HandleFlagGet(d))))
		mux.Handle("PATCH "+base+"/{id}", Scoped("feature_flag", RequireUser(d, HandleFlagUpdate(d))))
		mux.Handle("DELETE "+base+"/{id}", Scoped("feature_flag", RequireUser(d, HandleFlagDelete(d))))
		mux.Handle("GET "+base+"/local_evaluation", ScopedRoute(LocalEvalRoute, HandleLocalEvaluation(d)))
	}
	mux.Handle("GET /api/feature_flag/local_evaluation", ScopedRoute(LocalEvalRoute, HandleLocalEvaluation(d)))
	mux.Handle("GET /flags/definitions", ScopedRoute(LocalEvalRoute, HandleLocalEvaluation(d)))
	mux.Handle("/flags", HandleFlags(d, false))
	mux.Handle("/decide", HandleFlags(d, true))
}
