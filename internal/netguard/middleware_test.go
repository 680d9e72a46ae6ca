package netguard

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// okHandler answers 200 and records, in the response, that it ran.
func okHandler(t testing.TB) http.Handler {
	t.Helper()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Reached", "yes")
		w.WriteHeader(http.StatusOK)
	})
}

func assertBlocked(t testing.TB, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code != http.StatusForbidden {
		t.Fatalf("status = %d, want 403", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Fatalf("Content-Type = %q, want %q", ct, "text/plain; charset=utf-8")
	}
	if body := rec.Body.String(); body != BlockedMessage {
		t.Fatalf("body = %q, want %q", body, BlockedMessage)
	}
	if rec.Header().Get("X-Reached") != "" {
		t.Fatal("next handler ran for a blocked request")
	}
}

func TestBlockedMessageText(t *testing.T) {
	const want = "Your IP is not allowed. Check your ALLOWED_IP_BLOCKS settings. If you are behind a proxy, you need to set TRUSTED_PROXIES."
	if BlockedMessage != want {
		t.Fatalf("BlockedMessage = %q, want %q", BlockedMessage, want)
	}
}

func TestMiddlewareBlockedNeverReachesNext(t *testing.T) {
	reached := false
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true })
	h := Middleware(NewResolver(nil, false, false), NewAllowList(mustPrefixes(t, "192.168.0.0/16")), next)

	req := httptest.NewRequest(http.MethodPost, "/api/login", nil)
	req.RemoteAddr = "8.8.8.8:1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)

	if reached {
		t.Fatal("next handler was reached by a blocked request")
	}
	assertBlocked(t, rec)
	if got, want := rec.Body.Len(), len(BlockedMessage); got != want {
		t.Fatalf("body length %d, want %d", got, want)
	}
}

func TestMiddlewarePaths(t *testing.T) {
	allow := NewAllowList(mustPrefixes(t, "192.168.0.0/16"))
	res := NewResolver(nil, false, false)
	tests := []struct {
		target string
		exempt bool
	}{
		{"/e", true},
		{"/e/", true},
		{"/s/", true},
		{"/i/v0/e", true},
		{"/i/v0/e/?ip=1", true},
		{"/batch/", true},
		{"/capture", true},
		{"/engage/", true},
		{"/track?data=x", true},
		{"/decide/?v=3", true},
		{"/flags?x=1", true},
		{"/static/app.js", true},
		{"/_health", true},
		{"/messaging-preferences/abc/", false},
		{"/flags/definitions", false},
		{"/flags/definitions?token=phc_x", false},
		{"/flags//definitions", false},
		{"/flags/./definitions", false},
		{"/flags/../api/users/@me", false},
		{"/flags%2Fdefinitions", false},
		{"/%66lags/definitions", false},
		{"/flags./definitions", false},
		{"/FLAGS", false},
		{"/static/../api/users/@me", false},
		{"/static/%2e%2e/api", false},
		{"/static/a/b.js", false},
		{"/", false},
		{"/api/users/@me/", false},
		{"/api/e/", false},
		{"/_healthz", false},
		{"/eee", false},
		{"/E/", false},
		{"/login", false},
		{"//e", false},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			reached := false
			h := Middleware(res, allow, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			req.RemoteAddr = "8.8.8.8:1234" // outside the allow-list
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if reached != tt.exempt {
				t.Fatalf("reached = %v, want %v (status %d)", reached, tt.exempt, rec.Code)
			}
			if !tt.exempt {
				assertBlocked(t, rec)
			}
		})
	}
}

func TestIsExemptPath(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"/e", true},
		{"/e/", true},
		{"/e//", true},
		{"/e/anything/else", false},
		{"/i/v0/e", true},
		{"/i/v0/e/", true},
		{"/i", false},
		{"/i/v0", false},
		{"/i/v0/ai/batch/", true},
		{"/i/v0/ai/batch", true},
		{"/i/v0/ai", false},
		{"/i/v1/analytics/events", true},
		{"/i/v1/analytics/events/", true},
		{"/i/v1/analytics", false},
		{"/i/v1/analytics/events/x", false},
		{"/s/", true},
		{"/batch/", true},
		{"/capture", true},
		{"/engage", true},
		{"/track/", true},
		{"/decide/", true},
		{"/flags", true},
		{"/flags/", true},
		{"/_health", true},
		{"/_health/", true},
		{"/static/gatehouse.css", true},
		{"/static/webauthn.js", true},
		{"/static/", false},
		{"/static", false},
		{"/static/.hidden", false},
		{"/static/..", false},
		{"/static/../api", false},
		{"/static/a/b.js", false},
		{"/static/a%2fb", false},
		{"/messaging-preferences", false},
		// Anything that takes a credential or serves flag definitions.
		{"/flags/definitions", false},
		{"/flags/definitions/", false},
		{"/flags//definitions", false},
		{"/flags/./definitions", false},
		{"/flags/../api/users/@me", false},
		{"/flags.", false},
		{"/flags./definitions", false},
		{"/flags/definitions.", false},
		{"/FLAGS", false},
		{"/Flags/definitions", false},
		{"/decide/../api/users/@me", false},
		{"/e/../api/projects", false},
		{"/_health/../api/users/@me", false},
		{"e/x", false},
		{"x/e", false},
		{"", false},
		{"*", false},
		{"e", false},
		{"/", false},
		{"//", false},
		{"//e", false},
		{"//flags", false},
		{"/api/", false},
		{"/_healthz", false},
		{"/eee", false},
		{"/e ", false},
		{"/e.", false},
		{"/health", false},
	}
	for _, tt := range tests {
		if got := IsExemptPath(tt.path); got != tt.want {
			t.Errorf("IsExemptPath(%q) = %v, want %v", tt.path, got, tt.want)
		}
		if ref := refExempt(tt.path); ref != tt.want {
			t.Errorf("reference exempt(%q) = %v, table says %v", tt.path, ref, tt.want)
		}
	}
}

func TestMiddlewareAllowListOff(t *testing.T) {
	for _, allow := range []*AllowList{nil, NewAllowList(nil), NewAllowList([]netip.Prefix{})} {
		for _, remote := range []string{"8.8.8.8:1", "[2001:db8::1]:2", "garbage", ""} {
			for _, target := range []string{"/", "/api/users/@me/", "/e/"} {
				reached := false
				h := Middleware(NewResolver(nil, false, true), allow, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = true }))
				req := httptest.NewRequest(http.MethodGet, target, nil)
				req.RemoteAddr = remote
				req.Header.Set("X-Forwarded-For", "unknown")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if !reached || rec.Code != http.StatusOK {
					t.Fatalf("allow-list off (%v): %s from %q not admitted (status %d)", allow, target, remote, rec.Code)
				}
			}
		}
	}
}

func TestMiddlewareInvalidOnlyBlocksFailClosed(t *testing.T) {
	allow := NewAllowList([]netip.Prefix{{}})
	if !allow.Enabled() {
		t.Fatal("a list built from an invalid block must stay enabled")
	}
	h := Middleware(NewResolver(nil, false, false), allow, okHandler(t))
	req := httptest.NewRequest(http.MethodGet, "/api/", nil)
	req.RemoteAddr = "10.0.0.1:1"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assertBlocked(t, rec)
}

func TestClientFromContext(t *testing.T) {
	if _, _, ok := ClientFromContext(context.Background()); ok {
		t.Fatal("ClientFromContext reported ok without Middleware")
	}

	tests := []struct {
		name      string
		remote    string
		xff       string
		target    string
		wantAddr  string
		wantKnown bool
	}{
		{name: "known client behind proxy", remote: "10.0.0.1:1", xff: "192.168.4.4", target: "/api/", wantAddr: "192.168.4.4", wantKnown: true},
		{name: "unknown client keeps peer", remote: "10.0.0.1:1", xff: "192.168.4.4, 6.6.6.6", target: "/e/", wantAddr: "10.0.0.1", wantKnown: false},
		{name: "unparsable peer", remote: "garbage", xff: "", target: "/e/", wantAddr: "", wantKnown: false},
	}
	res := NewResolver(mustPrefixes(t, "10.0.0.0/8"), false, true)
	allow := NewAllowList(mustPrefixes(t, "192.168.0.0/16"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				gotAddr         netip.Addr
				gotKnown, gotOK bool
				reached         bool
			)
			h := Middleware(res, allow, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				gotAddr, gotKnown, gotOK = ClientFromContext(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, tt.target, nil)
			req.RemoteAddr = tt.remote
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if !reached {
				t.Fatal("next not reached")
			}
			var want netip.Addr
			if tt.wantAddr != "" {
				want = netip.MustParseAddr(tt.wantAddr)
			}
			if !gotOK || gotAddr != want || gotKnown != tt.wantKnown {
				t.Fatalf("ClientFromContext = (%v, %v, %v), want (%v, %v, true)", gotAddr, gotKnown, gotOK, want, tt.wantKnown)
			}
		})
	}
}

func TestMiddlewareNilURL(t *testing.T) {
	h := Middleware(nil, NewAllowList(mustPrefixes(t, "10.0.0.0/8")), okHandler(t))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, &http.Request{Method: http.MethodGet, RemoteAddr: "8.8.8.8:1", Header: http.Header{}})
	assertBlocked(t, rec)
}
