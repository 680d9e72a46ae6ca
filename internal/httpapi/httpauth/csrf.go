package httpauth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Cross-site request defences. Three rules work together:
//
//   - Origin: a state-changing request from a browser must come from this
//     site, SITE_URL's exact origin (scheme, host and port). A browser that
//     sends no Origin but a Sec-Fetch-Site other than same-origin or none is
//     refused too. A request with neither header is not from a browser
//     (curl, SDKs) and is let through, as Go's http.CrossOriginProtection
//     does.
//   - Body type: the JSON endpoints that create a session accept only JSON,
//     so no HTML form or text/plain fetch of another site can reach them
//     without a CORS preflight.
//   - Token: a signed-in request's X-CSRFToken (or form field) must be the
//     HMAC of its session key under the CSRF sub-key; the token changes at
//     every login and is worthless in any other session. Before sign-in the
//     pages use a random double-submit token (cookie and form field).

// errCrossOrigin is the answer to a cross-site state-changing request.
func errCrossOrigin() error {
	return &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "csrf_failed",
		Detail: "CSRF Failed: Origin checking failed - the request does not come from this site."}
}

// originOf is the origin of u as browsers write it in the Origin header:
// lower-case scheme and host, and the port only when it is not the
// scheme's default. ok is false for anything that is not an http(s) origin
// (including "null").
func originOf(u *url.URL) (origin string, ok bool) {
	scheme := strings.ToLower(u.Scheme)
	if (scheme != "http" && scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, true
}

// trustedOrigin reports whether an Origin header names SITE_URL's origin.
// Without a SITE_URL it falls back to the request's Host, as
// http.CrossOriginProtection does.
func trustedOrigin(r *http.Request, site *url.URL, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	got, ok := originOf(u)
	if !ok {
		return false
	}
	if site == nil {
		return strings.EqualFold(u.Host, r.Host)
	}
	want, ok := originOf(site)
	return ok && got == want
}

// crossOrigin returns the refusal of a cross-site request with an unsafe
// method, or nil. GET, HEAD and OPTIONS are never refused.
func CrossOrigin(r *http.Request, site *url.URL) error {
	if safeMethod(r.Method) {
		return nil
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if trustedOrigin(r, site, origin) {
			return nil
		}
		return errCrossOrigin()
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return nil
	}
	return errCrossOrigin()
}

// errUnsupportedMediaType is DRF's answer to a body it has no parser for.
func ErrUnsupportedMediaType(contentType string) error {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "" {
		mt = "none"
	}
	return &gatehouse.Error{Kind: gatehouse.KindBadMediaType, Code: "unsupported_media_type",
		Detail: "Unsupported media type \"" + mt + "\" in request."}
}

// jsonBody reports whether a request's body is JSON (application/json with
// any parameters) or absent.
func jsonBody(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.ContentLength == 0
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// signInEndpoint guards a JSON endpoint that can set the session cookie:
// it refuses cross-site browser requests (login CSRF) and any body other
// than JSON before the handler runs.
func SignInEndpoint(d Auth, next http.Handler) http.Handler {
	return Handler(func(w http.ResponseWriter, r *http.Request) error {
		if err := CrossOrigin(r, d.SiteURL); err != nil {
			return err
		}
		if !jsonBody(r) {
			return ErrUnsupportedMediaType(r.Header.Get("Content-Type"))
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// sessionCSRFToken is the CSRF token of a session: the HMAC of its key
// under the CSRF sub-key of SECRET_KEY.
func sessionCSRFToken(d Auth, sessionKey string) string {
	return base64.RawURLEncoding.EncodeToString(d.CSRFKey.Sign([]byte(sessionKey)))
}

// sessionCSRFTokenOK checks a presented token against the session's, under
// the current key or a fallback, in constant time.
func sessionCSRFTokenOK(d Auth, sessionKey, token string) bool {
	mac, err := base64.RawURLEncoding.Strict().DecodeString(token) // one spelling per token
	return err == nil && len(mac) > 0 && d.CSRFKey.Verify([]byte(sessionKey), mac)
}

// csrfOK checks an unsafe request's Origin and CSRF token. With a session
// the token must be the session's own; without one (the sign-in pages) the
// form field must equal the CSRF cookie.
func CsrfOK(r *http.Request, d Auth, sessionKey string) bool {
	if CrossOrigin(r, d.SiteURL) != nil {
		return false
	}
	h := r.Header.Get(csrfHeader)
	if h == "" {
		h = formCSRFToken(r)
	}
	if sessionKey != "" {
		return sessionCSRFTokenOK(d, sessionKey, h)
	}
	c, err := r.Cookie(CSRFCookie)
	if err != nil || len(c.Value) < 16 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(h), []byte(c.Value)) == 1
}

// ensureCSRFCookie makes the CSRF cookie hold the right token and returns
// it (for forms' hidden field). With a session the token is the session's
// own, rewritten when the cookie holds another; without one a random token
// is set when the request has none.
func EnsureCSRFCookie(w http.ResponseWriter, r *http.Request, d Auth, sessionKey string, age time.Duration) string {
	c, err := r.Cookie(CSRFCookie)
	if sessionKey != "" {
		token := sessionCSRFToken(d, sessionKey)
		if err != nil || c.Value != token {
			d.Cookies.Set(w, CSRFCookie, token, cookies.Options{ReadableByScript: true, MaxAge: age})
		}
		return token
	}
	if err == nil && len(c.Value) >= 16 {
		return c.Value
	}
	b := make([]byte, 24)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	d.Cookies.Set(w, CSRFCookie, token, cookies.Options{ReadableByScript: true, MaxAge: age})
	return token
}

// setSessionCSRFCookie gives a new session its token, replacing whatever
// the browser held before sign-in.
func setSessionCSRFCookie(w http.ResponseWriter, d Auth, sessionKey string, age time.Duration) {
	d.Cookies.Set(w, CSRFCookie, sessionCSRFToken(d, sessionKey), cookies.Options{ReadableByScript: true, MaxAge: age})
}
