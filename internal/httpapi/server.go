// Package httpapi is Gatehouse's HTTP interface: the JSON API on PostHog's
// paths, event capture, health checks, and the middleware every request
// passes through. It is also the one place domain errors become HTTP
// responses.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
)

// NewServer returns the handler that serves every Gatehouse route.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	d.AuthGeneration = gatehouse.SharedGenerationReads(d.AuthGeneration)
	if d.Keys == nil {
		d.Keys = secretkey.NewKeyring(secretkey.Generate())
	}
	d.CSRFKey = d.Keys.For(secretkey.PurposeCSRF)
	mux := http.NewServeMux()
	d.KeyRoutes = map[string]httpauth.KeyRoute{}
	routes(mount{mux: mux, keys: d.KeyRoutes}, d)
	var h http.Handler = metrics.Route(mux)
	h = httpauth.CheckRequestText(mux, d, h)
	h = httpauth.CanonicalHost(d.SiteURL, h)
	h = httpauth.SecurityHeaders(h)
	h = netguard.MiddlewareWith(d.Resolver, d.AllowList, netguard.Hooks{Context: func(ctx context.Context, r *http.Request, client netip.Addr) context.Context {
		return httpauth.WithLogger(httpauth.WithAuditClient(ctx, r, client), d.Logger)
	}, Blocked: httpauth.AuditAllowListRefusal(d)}, h)
	h = httpauth.StripTrailingSlash(h)
	h = httpauth.LogRequests(d.Logger, d.Resolver, h)
	h = httpauth.RecoverPanics(d.Logger, h)
	h = metrics.Middleware(h) // outermost: it also counts the 500 of a recovered panic
	return h
}

// Deps is every service the HTTP layer serves with; cmd/gatehouse builds
// it once.
type Deps = httpauth.Auth

// Pinger checks that a dependency (the database, Redis) answers.
type Pinger = httpauth.Pinger

// Mailer queues an email; delivery happens in the background.
type Mailer = httpauth.Mailer

// KeyRoutes is the mount table's rule for personal API keys on each route
// that takes them, by mux pattern (tests check every one).
func KeyRoutes() map[string]httpauth.KeyRoute {
	m := mount{mux: http.NewServeMux(), keys: map[string]httpauth.KeyRoute{}}
	routes(m, Deps{Audit: &gatehouse.AuditService{}})
	return m.keys
}
