package httpauth

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
)

// logRequests writes one line per request: method, path (never the query
// string, which can carry tokens and keys), status, duration and client
// address. Headers and bodies are never logged.
func LogRequests(logger *slog.Logger, res *netguard.Resolver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &metrics.StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.Status == 0 {
			rec.Status = http.StatusOK
		}
		client, known := res.ClientAddr(r)
		clientText := "unknown"
		if client.IsValid() {
			clientText = client.String()
		}
		level := slog.LevelInfo
		if rec.Status >= 500 {
			level = slog.LevelError
		}
		logger.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("path", LoggablePath(r.URL.Path)),
			slog.Int("status", rec.Status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("client", clientText),
			slog.Bool("client_known", known),
			slog.Int("bytes", rec.Bytes),
		)
	})
}

// recoverPanics turns a panic in a handler into a logged 500.
func RecoverPanics(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger.Error("panic serving request", "path", LoggablePath(r.URL.Path), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				WriteError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// stripTrailingSlash makes every path work with and without its trailing
// slash, as PostHog's router does, by routing "/x/" as "/x".
func StripTrailingSlash(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if len(p) > 1 && strings.HasSuffix(p, "/") {
			r2 := new(http.Request)
			*r2 = *r
			u := *r.URL
			u.Path = strings.TrimRight(p, "/")
			if u.Path == "" {
				u.Path = "/"
			}
			u.RawPath = ""
			r2.URL = &u
			r = r2
		}
		next.ServeHTTP(w, r)
	})
}

// securityHeaders adds the headers every response carries. The values
// are shared slices (len == cap, so an Add copies before appending) set
// directly under their canonical names: three allocations fewer on every
// request.
func SecurityHeaders(next http.Handler) http.Handler {
	nosniff, sameOrigin, sameOriginRef := []string{"nosniff"}, []string{"SAMEORIGIN"}, []string{"same-origin"}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff[:1:1]
		h["X-Frame-Options"] = sameOrigin[:1:1]
		h["Referrer-Policy"] = sameOriginRef[:1:1]
		next.ServeHTTP(w, r)
	})
}

// tokenPathPrefixes are paths whose later segments carry a secret (the
// password-reset link /reset/<uuid>/<token>); the log keeps only the prefix.
var tokenPathPrefixes = []string{"/reset/", "/verify_email/", "/login/email-mfa/", "/signup/", "/api/signup/"}

// loggablePath returns the path with any secret-bearing part removed.
func LoggablePath(p string) string {
	for _, prefix := range tokenPathPrefixes {
		if strings.HasPrefix(p, prefix) && len(p) > len(prefix) {
			return prefix + "[REDACTED]"
		}
	}
	return p
}
