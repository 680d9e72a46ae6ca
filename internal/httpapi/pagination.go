package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
)

// defaultPageLimit is the page size when ?limit= is absent or not a
// positive integer; PostHog sets no maximum.
const defaultPageLimit = 100

// pageWindow reads ?limit= and ?offset= as PostHog's limit/offset
// pagination does: a limit that is not a positive integer is the default,
// an offset that is not a non-negative integer is 0.
func pageWindow(r *http.Request) (limit, offset int) {
	q := r.URL.Query()
	limit = defaultPageLimit
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		limit = n
	}
	if n, err := strconv.Atoi(q.Get("offset")); err == nil && n > 0 {
		offset = n
	}
	return limit, offset
}

// paginated writes one page of results as PostHog lists a collection:
// {"count", "next", "previous", "results"}, with next and previous the
// absolute URL of the request with limit and offset replaced (previous
// drops offset when it would be 0), or null at either end.
func paginated[T any](w http.ResponseWriter, r *http.Request, d Deps, results []T) {
	limit, offset := pageWindow(r)
	writePage(w, r, d, results, limit, offset)
}

// writePage writes the page of results at limit and offset.
func writePage[T any](w http.ResponseWriter, r *http.Request, d Deps, results []T, limit, offset int) {
	count := len(results)
	page := results[min(offset, count):min(offset+limit, count)]
	if page == nil {
		page = []T{}
	}
	writeJSON(w, http.StatusOK, pageJSON(r, d, page, count, limit, offset))
}

// pageURL is the request's own URL, on the configured site address, with
// limit and offset set (offset left out when 0).
func pageURL(r *http.Request, d Deps, limit, offset int) string {
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

// maxPageLimit bounds one page of a list the store pages itself (members),
// so that one request cannot ask for a whole table; PostHog sets no maximum.
const maxPageLimit = 1000

// pageParams is pageWindow with the limit capped at maxPageLimit, for lists
// whose page the store reads.
func pageParams(r *http.Request) (limit, offset int) {
	limit, offset = pageWindow(r)
	return min(limit, maxPageLimit), offset
}

// pageJSON is one page of a list the store paged: count, the links to the
// next and previous pages (null at either end), and results.
func pageJSON(r *http.Request, d Deps, results any, count, limit, offset int) map[string]any {
	var next, previous any
	if offset+limit < count {
		next = pageURL(r, d, limit, offset+limit)
	}
	if offset > 0 {
		previous = pageURL(r, d, limit, max(offset-limit, 0))
	}
	return map[string]any{"count": count, "next": next, "previous": previous, "results": results}
}
