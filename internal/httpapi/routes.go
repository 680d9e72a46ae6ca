package httpapi

import "net/http"

// addRoutes lists every route. Paths are registered without a trailing
// slash: stripTrailingSlash makes "/e/" reach "/e".
func addRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /_health", handleHealth())
	mux.Handle("GET /_readyz", handleReady(d.Logger, d.Database))

	capture := handleCapture(d.Logger, d.Capture)
	for _, path := range []string{"/e", "/i/v0/e", "/capture", "/track", "/engage", "/batch"} {
		mux.Handle(path, capture)
	}

	mux.Handle("/", handleNotFound(d.Logger))
}
