package metrics

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Default is the registry Gatehouse records into and serves.
var Default = NewRegistry()

// latencyBuckets suit an auth server: most answers take milliseconds, a
// password check tens of milliseconds, a slow database seconds.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// The series Gatehouse exports. Their names and labels are documented in
// the README and docs/SECURITY.md; change them only with a note there.
var (
	buildInfo = &infoGauge{name: "gatehouse_build_info", help: "Gatehouse's version; the value is always 1."}

	httpRequests = Default.NewCounterVec("gatehouse_http_requests_total",
		"HTTP requests answered, by route pattern, method and status code.", "route", "method", "code")
	httpDuration = Default.NewHistogramVec("gatehouse_http_request_duration_seconds",
		"Time to answer HTTP requests, by route pattern and method.", latencyBuckets, "route", "method")
	httpThrottled = Default.NewCounterVec("gatehouse_http_throttled_total",
		"Requests answered 429 by a throttle, by route pattern.", "route")

	logins = Default.NewCounterVec("gatehouse_logins_total",
		"Login attempts by method (password, …) and outcome (success, failure, locked, second_factor_required, throttled, invalid, error).", "method", "outcome")
	lockouts = Default.NewCounterVec("gatehouse_login_lockouts_total",
		"Login lockouts started: a failure counter reached its limit, per (email, address) or per address.", "scope")
	keyAuths = Default.NewCounterVec("gatehouse_key_authentications_total",
		"Requests authenticated with a personal API key, by where the key was found (header, body, query).", "transport", "outcome")
	emailsSent = Default.NewCounterVec("gatehouse_emails_sent_total",
		"Emails handed to the SMTP server.")
	emailsFailed = Default.NewCounterVec("gatehouse_emails_failed_total",
		"Failed email deliveries; gave_up is true when the message will not be retried.", "gave_up")
	bookkeepingFailures = Default.NewCounterVec("gatehouse_bookkeeping_failures_total",
		"Best-effort writes (when a key or device was last used) that failed; the request still answered.", "write")
)

func init() {
	Default.add(buildInfo)
	Default.NewGaugeFunc("go_goroutines", "Number of goroutines that currently exist.", goroutines)
}

// SetVersion records the running version in gatehouse_build_info.
func SetVersion(version string) { buildInfo.set([]string{"version"}, version) }

// Login counts one login attempt. method is how the user signed in
// ("password", "sso", "saml", "passkey", "2fa"); outcome is one of
// "success", "failure", "locked", "second_factor_required" (the password
// was right and a second step is due), "throttled", "invalid", "error".
func Login(method, outcome string) {
	logins.Inc(bounded(method, "password", "sso", "saml", "passkey", "2fa", "email_mfa"), bounded(outcome, "success", "failure", "locked", "second_factor_required", "throttled", "invalid", "error"))
}

// Lockout counts a lockout that has just started; scope is "email" (an
// email from one address), "address" (an address across all emails) or
// "account" (an email across all addresses).
func Lockout(scope string) { lockouts.Inc(bounded(scope, "email", "address", "account")) }

// KeyAuth counts a request authenticated with a personal API key found in
// transport: "header" (Authorization: Bearer), "body" or "query".
func KeyAuth(transport string) {
	keyAuths.Inc(bounded(transport, "header", "body", "query"), "success")
}

// KeyAuthFailed counts a request whose personal API key was refused
// (unknown, revoked, expired), by transport as for KeyAuth.
func KeyAuthFailed(transport string) {
	keyAuths.Inc(bounded(transport, "header", "body", "query"), "failure")
}

// EmailSent counts an email the SMTP server accepted.
func EmailSent() { emailsSent.Inc() }

// EmailFailed counts a failed delivery; gaveUp when it will not be retried.
func EmailFailed(gaveUp bool) {
	v := "false"
	if gaveUp {
		v = "true"
	}
	emailsFailed.Inc(v)
}

// BookkeepingFailed counts a failed best-effort write: write is
// "api_key_last_used", "api_key_hash_upgrade", "password_hash_upgrade",
// "project_key_last_used", "known_device" or "remembered_device_last_used".
func BookkeepingFailed(write string) {
	bookkeepingFailures.Inc(bounded(write, "api_key_last_used", "api_key_hash_upgrade", "password_hash_upgrade",
		"project_key_last_used", "known_device", "remembered_device_last_used"))
}

// Handler serves the Default registry; mount it on the metrics listener
// only.
func Handler() http.Handler { return Default.Handler() }

// bounded returns v when it is one of allowed, else "other", so a caller's
// mistake cannot grow the number of series.
func bounded(v string, allowed ...string) string {
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	return "other"
}

// knownMethods are the HTTP methods that get their own label value.
var knownMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// unrouted labels requests that never reached the router (refused by the
// IP allow-list, for instance).
const unrouted = "unrouted"

type routeKey struct{}

// routeSlot is where Route writes the pattern for Middleware to read.
type routeSlot struct{ pattern string }

// Middleware counts and times every request, labelled with the route
// pattern that served it. Put it outside everything that may answer
// before the router, and wrap the router itself with Route.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		slot := &routeSlot{}
		rec := &StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), routeKey{}, slot)))
		code := rec.Status
		if code == 0 {
			code = http.StatusOK
		}
		route := routeLabel(slot.pattern)
		method := bounded(r.Method, knownMethods...)
		httpRequests.Inc(route, method, statusLabel(code))
		httpDuration.Observe(time.Since(start).Seconds(), route, method)
		if code == http.StatusTooManyRequests {
			httpThrottled.Inc(route)
		}
	})
}

// Route wraps a net/http ServeMux: after the mux has served a request it
// has set r.Pattern, which Route hands to the Middleware further out.
func Route(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if slot, ok := r.Context().Value(routeKey{}).(*routeSlot); ok {
			slot.pattern = r.Pattern
		}
	})
}

// statusLabels are the status codes as label values, made once.
var statusLabels = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

// routeLabel is the pattern without its method ("POST /api/login" →
// "/api/login"; the method is a label of its own), or unrouted.
func routeLabel(pattern string) string {
	if pattern == "" {
		return unrouted
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = strings.TrimLeft(pattern[i+1:], " \t")
	}
	return pattern
}
