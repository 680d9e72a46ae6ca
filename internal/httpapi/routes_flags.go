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
	auth := &d
	flags := &api.Flags{Auth: auth, Flags: d.Flags, AuthGeneration: d.AuthGeneration}
	definitions := httpauth.ScopedRoute(api.LocalEvalRoute, auth.Session(api.ChallengeBearer(flags.Definitions)))
	for _, prefix := range []string{"/api/projects/{project}", "/api/environments/{project}"} {
		base := prefix + "/feature_flags"
		mux.Handle("GET "+base, httpauth.Scoped("feature_flag", auth.User(flags.List)))
		mux.Handle("POST "+base, httpauth.Scoped("feature_flag", auth.User(flags.Create)))
		mux.Handle("GET "+base+"/{id}", httpauth.Scoped("feature_flag", auth.User(flags.Get)))
		mux.Handle("PATCH "+base+"/{id}", httpauth.Scoped("feature_flag", auth.User(flags.Update)))
		mux.Handle("DELETE "+base+"/{id}", httpauth.Scoped("feature_flag", auth.User(flags.Delete)))
		mux.Handle("GET "+base+"/local_evaluation", definitions)
	}
	mux.Handle("GET /api/feature_flag/local_evaluation", definitions)
	mux.Handle("GET /flags/definitions", definitions)
	mux.Handle("/flags", httpauth.Handler(flags.Evaluate))
	mux.Handle("/decide", httpauth.Handler(flags.Decide))
}
