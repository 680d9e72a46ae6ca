package httpauth

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// Cookie and header names, as PostHog (Django) uses them.
const (
	SessionCookie = "sessionid"
	CSRFCookie    = "posthog_csrftoken"
	csrfHeader    = "X-CSRFToken"
)

// sensitiveActionAge is how long after login a session may take
// sensitive actions (SESSION_SENSITIVE_ACTIONS_AGE).
const SensitiveActionAge = 2 * time.Hour

type ctxKey int

const authKey ctxKey = iota

// authInfo is the signed-in user of a request.
type Caller struct {
	User       *gatehouse.User
	Session    *gatehouse.Session // nil for personal-API-key requests
	SessionKey string
	// apiKey is the personal API key the request authenticated with, nil
	// for session requests (see apikeys_auth.go).
	APIKey *gatehouse.PersonalAPIKey
}

func CallerFrom(ctx context.Context) *Caller {
	a, _ := ctx.Value(authKey).(*Caller)
	return a
}

func ErrNotAuthenticated() error {
	return &gatehouse.Error{Kind: gatehouse.KindUnauthenticated, Code: "not_authenticated", Detail: "Authentication credentials were not provided."}
}

func ErrCSRF() error {
	return &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "csrf_failed", Detail: "CSRF Failed: CSRF token missing or incorrect."}
}

// clientIP is the proxy-aware client address netguard resolved.
func ClientIP(r *http.Request) string {
	if addr, _, ok := netguard.ClientFromContext(r.Context()); ok && addr.IsValid() {
		return addr.String()
	}
	return ""
}

// throttleAddress is the client address as every per-address throttle
// counts it: IPv6 grouped by /64 (ratelimit.AddressKey).
func ThrottleAddress(r *http.Request) string {
	return ratelimit.AddressKey(ClientIP(r))
}

// withSession resolves the session cookie (when there is one) and, for
// unsafe methods on a session-authenticated request, enforces CSRF: the
// X-CSRFToken header (or form field) must be the session's token, and a
// browser's Origin must be this site (csrf.go). On the paths exempt from
// the IP allow-list nothing authenticates: a cookie or key sent there is
// ignored.
func WithSession(d Auth, next http.Handler) http.Handler {
	return Handler(func(w http.ResponseWriter, r *http.Request) error {
		if netguard.IsExemptPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return nil
		}
		if d.APIKeys != nil {
			if raw, where, ok := personalAPIKeyFrom(r); ok {
				return serveWithAPIKey(d, w, r, raw, where, next)
			}
		}
		c, err := r.Cookie(SessionCookie)
		if err != nil || c.Value == "" {
			next.ServeHTTP(w, r)
			return nil
		}
		user, sess, err := d.Sessions.Authenticate(r.Context(), c.Value)
		if errors.Is(err, gatehouse.ErrNoSession) {
			d.Cookies.Clear(w, SessionCookie, cookies.Options{})
			next.ServeHTTP(w, r)
			return nil
		}
		if err != nil {
			return err
		}
		if !safeMethod(r.Method) {
			if IsFormPost(r) {
				if err := ParseFormBody(w, r); err != nil {
					return err
				}
			}
			if !CsrfOK(r, d, c.Value) {
				return ErrCSRF()
			}
		}
		if answered, err := twoFactorGate(w, r, d, user, sess, c.Value); answered || err != nil {
			return err
		}
		ctx := context.WithValue(r.Context(), authKey, &Caller{User: user, Session: sess, SessionKey: c.Value})
		ctx = gatehouse.WithAuditActor(ctx, gatehouse.AuditUser(user)) // audit log
		next.ServeHTTP(w, r.WithContext(ctx))
		return nil
	})
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// CSRFFormField is the hidden form field that carries the CSRF token in
// HTML forms, as Django names it.
const CSRFFormField = "csrfmiddlewaretoken"

// maxFormBody bounds the url-encoded bodies of HTML forms.
const maxFormBody = 64 << 10

// formCSRFToken is the csrfmiddlewaretoken field of a url-encoded form
// post, or "" for any other body. The body is read at most once and at
// most maxFormBody bytes; handlers then find the fields in r.PostForm.
func formCSRFToken(r *http.Request) string {
	if !IsFormPost(r) {
		return ""
	}
	if err := ParseFormBody(nil, r); err != nil {
		return ""
	}
	return r.PostForm.Get(CSRFFormField)
}

// isFormPost reports whether the body is an HTML form's url-encoded one.
func IsFormPost(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// parseFormBody parses a url-encoded body into r.PostForm, bounded by
// maxFormBody, and refuses fields that are not clean text (input.go). w
// may be nil (then the connection is not told to close). Its errors are
// domain errors.
func ParseFormBody(w http.ResponseWriter, r *http.Request) error {
	if r.PostForm == nil {
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		}
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return &gatehouse.Error{Kind: gatehouse.KindTooLarge, Code: "request_too_large", Detail: "Request body is too large."}
			}
			return &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "Could not read the form."}
		}
	}
	return checkFormText(r.PostForm)
}

// UserHandler serves a signed-in caller and returns its error (see
// Handler).
type UserHandler func(w http.ResponseWriter, r *http.Request, c *Caller) error

// User serves next to signed-in callers (a session or a personal API
// key); anyone else gets 401. The error next returns is written by
// WriteError.
func (d *Auth) User(next UserHandler) http.Handler {
	return WithSession(*d, Handler(func(w http.ResponseWriter, r *http.Request) error {
		c := CallerFrom(r.Context())
		if c == nil {
			if err := projectSecretRefusal(r, *d); err != nil {
				return err
			}
			return ErrNotAuthenticated()
		}
		return next(w, r, c)
	}))
}

// Session resolves the caller, if any (CallerFrom), and serves next,
// which may answer anonymous callers too.
func (d *Auth) Session(next Handler) http.Handler {
	return WithSession(*d, next)
}

// previousSessionKey is the session cookie a request carries, if any.
func PreviousSessionKey(r *http.Request) string {
	if c, err := r.Cookie(SessionCookie); err == nil {
		return c.Value
	}
	return ""
}

func setSessionCookie(w http.ResponseWriter, p cookies.Policy, key gatehouse.Secret, s *gatehouse.Session) {
	p.Set(w, SessionCookie, key.Reveal(), cookies.Options{MaxAge: time.Until(s.ExpiresAt).Round(time.Second)})
}

// newDeviceMail is the notice of a sign-in from a device not seen lately.
func NewDeviceMail(u *gatehouse.User, s *gatehouse.Session) mail.Message {
	return mail.NewDeviceNotice(u.Email, s.CreatedAt, s.ClientIP, ShortUserAgent(s.UserAgent), s.LoginMethod)
}
