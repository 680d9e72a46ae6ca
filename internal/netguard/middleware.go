package netguard

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
)

type clientKey struct{}

type clientInfo struct {
	addr  netip.Addr
	known bool
}

// Middleware resolves the client address once, stores it in the request
// context, and (when allow is enabled) blocks non-exempt requests from
// clients outside it. allow may be nil. The check runs before next: a blocked
// request gets a 403 with BlockedMessage and never reaches next. res may be
// nil, in which case the peer address is the client.
func Middleware(res *Resolver, allow *AllowList, next http.Handler) http.Handler {
	return MiddlewareWith(res, allow, Hooks{}, next)
}

// Hooks let a caller act in the step that resolves the client address,
// without resolving it again: Context adds to an allowed request's context
// (one copy of the request instead of two), Blocked hears of a request the
// allow-list refuses, before the 403 is written. Either may be nil.
type Hooks struct {
	Context func(ctx context.Context, req *http.Request, client netip.Addr) context.Context
	Blocked func(req *http.Request, client netip.Addr)
}

// MiddlewareWith is Middleware with hooks.
func MiddlewareWith(res *Resolver, allow *AllowList, hooks Hooks, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		addr, known := res.ClientAddr(req)
		if allow.Enabled() && !IsExemptPath(requestPath(req)) && !(known && allow.Contains(addr)) {
			if hooks.Blocked != nil {
				hooks.Blocked(req, addr)
			}
			writeBlocked(w)
			return
		}
		ctx := context.WithValue(req.Context(), clientKey{}, &clientInfo{addr: addr, known: known})
		if hooks.Context != nil {
			ctx = hooks.Context(ctx, req, addr)
		}
		next.ServeHTTP(w, req.WithContext(ctx))
	})
}

func requestPath(req *http.Request) string {
	if req.URL == nil {
		return ""
	}
	return req.URL.Path
}

var blockedLength = strconv.Itoa(len(BlockedMessage))

func writeBlocked(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", blockedLength)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusForbidden)
	_, _ = w.Write([]byte(BlockedMessage))
}

// ClientFromContext returns what Middleware stored: the client address and
// whether it is known (see Resolver.ClientAddr). ok is false if Middleware
// did not run for this context.
func ClientFromContext(ctx context.Context) (addr netip.Addr, known bool, ok bool) {
	ci, _ := ctx.Value(clientKey{}).(*clientInfo)
	if ci == nil {
		return netip.Addr{}, false, false
	}
	return ci.addr, ci.known, true
}
