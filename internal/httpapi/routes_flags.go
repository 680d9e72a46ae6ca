package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addFlagRoutes registers the feature-flag API (session or personal key
// with feature_flag scopes), the local-evaluation endpoints server SDKs
// poll, and the public /flags and /decide.
func addFlagRoutes(mux *http.ServeMux, d httpauth.Auth) {
	for _, prefix := range []string{"/api/projects/{project}", "/api/environments/{project}"} {
		base := prefix + "/feature_flags"
		mux.Handle("GET "+base, httpauth.Scoped("feature_flag", httpauth.RequireUser(d, api.HandleFlagList(d))))
		mux.Handle("POST "+base, httpauth.Scoped("feature_flag", httpauth.RequireUser(d, api.HandleFlagCreate(d))))
		mux.Handle("GET "+base+"/{id}", httpauth.Scoped("feature_flag", httpauth.RequireUser(d, api.HandleFlagGet(d))))
		mux.Handle("PATCH "+base+"/{id}", httpauth.Scoped("feature_flag", httpauth.RequireUser(d, api.HandleFlagUpdate(d))))
		mux.Handle("DELETE "+base+"/{id}", httpauth.Scoped("feature_flag", httpauth.RequireUser(d, api.HandleFlagDelete(d))))
		mux.Handle("GET "+base+"/local_evaluation", httpauth.ScopedRoute(api.LocalEvalRoute, api.HandleLocalEvaluation(d)))
	}
	mux.Handle("GET /api/feature_flag/local_evaluation", httpauth.ScopedRoute(api.LocalEvalRoute, api.HandleLocalEvaluation(d)))
	mux.Handle("GET /flags/definitions", httpauth.ScopedRoute(api.LocalEvalRoute, api.HandleLocalEvaluation(d)))
	mux.Handle("/flags", api.HandleFlags(d, false))
	mux.Handle("/decide", api.HandleFlags(d, true))
}
