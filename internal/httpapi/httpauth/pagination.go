package httpauth

import (
	"net/http"
	"net/url"
	"strconv"
)

// pageURL is the request's own URL, on the configured site address, with
// limit and offset set (offset left out when 0).
func pageURL(r *http.Request, d Auth, limit, offset int) string {
	u := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path}
	if orig, err := url.ParseRequestURI(r.RequestURI); err == nil && orig.Path != "" {
		u.Path = orig.Path
	}
	if r.TLS != nil {
		u.Scheme = "https"
	}
	if d.SiteURL != nil && d.SiteURL.Host != "" {
		u.Scheme, u.Host = d.SiteURL.Scheme, d.SiteURL.Host
	}
	q := r.URL.Query()
	q.Set("limit", strconv.Itoa(limit))
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	} else {
		q.Del("offset")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// pageJSON is one page of a list the store paged: count, the links to the
// next and previous pages (null at either end), and results.
func PageJSON(r *http.Request, d Auth, results any, count, limit, offset int) map[string]any {
	var next, previous any
	if offset+limit < count {
		next = pageURL(r, d, limit, offset+limit)
	}
	if offset > 0 {
		previous = pageURL(r, d, limit, max(offset-limit, 0))
	}
	return map[string]any{"count": count, "next": next, "previous": previous, "results": results}
}
