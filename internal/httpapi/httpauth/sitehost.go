package httpauth

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// canonicalHost sends a browser that reached Gatehouse under another
// loopback name than SITE_URL's (127.0.0.1 or [::1] for localhost, or the
// other way round, same port) to SITE_URL's host before it starts a
// sign-in: cookies are per host, and single sign-on and passkeys come
// back to SITE_URL (redirect URIs, the ACS, the WebAuthn origin), so a
// flow started under the other name would lose its cookie. Only the pages
// that start flows are redirected, only for GET and HEAD; the API and the
// provider callbacks are left alone. Other host mismatches (a proxy's
// internal name) are not guessed at.
func CanonicalHost(site *url.URL, next http.Handler) http.Handler {
	if site == nil || !loopbackName(site.Hostname()) {
		return next
	}
	sitePort := portOf(site.Scheme, site.Port())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method == http.MethodGet || r.Method == http.MethodHead) && startsFlow(r.URL.Path) {
			host, port, err := net.SplitHostPort(r.Host)
			if err != nil {
				host, port = r.Host, ""
			}
			host = strings.Trim(host, "[]")
			if !strings.EqualFold(host, site.Hostname()) && loopbackName(host) && portOf(site.Scheme, port) == sitePort {
				uri := r.RequestURI // as the browser sent it (trailing slash kept)
				if !strings.HasPrefix(uri, "/") {
					uri = r.URL.RequestURI()
				}
				http.Redirect(w, r, site.Scheme+"://"+site.Host+uri, http.StatusFound)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// startsFlow reports whether path is a page from which a sign-in,
// single sign-on or passkey flow starts.
func startsFlow(path string) bool {
	if path == "/" {
		return true
	}
	for _, p := range []string{"/login", "/settings", "/signup"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

func loopbackName(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func portOf(scheme, port string) string {
	if port != "" {
		return port
	}
	if scheme == "https" {
		return "443"
	}
	return "80"
}
