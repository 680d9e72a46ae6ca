// Package httpapi is Gatehouse's HTTP interface: the JSON API on PostHog's
// paths, event capture, health checks, and the middleware every request
// passes through. It is also the one place domain errors become HTTP
// responses.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
)

// Pinger checks that the database answers; /_readyz uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps is everything the HTTP layer needs. cmd/gatehouse builds it.
type Deps struct {
	Logger    *slog.Logger
	Resolver  *netguard.Resolver
	AllowList *netguard.AllowList // nil or empty: no IP restriction
	Cookies   cookies.Policy
	Database  Pinger
	Capture   *gatehouse.CaptureService
	Auth      *gatehouse.AuthService
	Accounts  *gatehouse.AccountService
	// SiteURL is this instance's public URL; browsers' Origin must match
	// it on state-changing requests.
	SiteURL *url.URL
	Version string
}

// NewServer returns the handler that serves every Gatehouse route.
func NewServer(d Deps) http.Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	addRoutes(mux, d)
	var h http.Handler = mux
	h = securityHeaders(h)
	h = netguard.Middleware(d.Resolver, d.AllowList, h)
	h = stripTrailingSlash(h)
	h = logRequests(d.Logger, d.Resolver, h)
	h = recoverPanics(d.Logger, h)
	return h
}
