package httpapi

import (
	"net/http"
	"net/url"
	"strconv"
)

// defaultPageLimit is PostHog's page size for limit/offset lists.
const defaultPageLimit = 100

// maxPageLimit bounds one page, so that one request cannot ask the store
// for a whole table (PostHog sets no maximum).
const maxPageLimit = 1000

// pageParams reads ?limit and ?offset as PostHog does: a missing, bad or
// non-positive limit is the default, a bad or negative offset is 0.
func pageParams(r *http.Request) (limit, offset int) {
	q := r.URL.Query()
	limit = defaultPageLimit
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		limit = min(n, maxPageLimit)
	}
	if n, err := strconv.Atoi(q.Get("offset")); err == nil && n > 0 {
		offset = n
	}
	return limit, offset
}

// pageJSON is a page of a limit/offset list: count, the absolute links to
// the next and previous pages (null at either end), and results.
func pageJSON(r *http.Request, d Deps, results any, count, limit, offset int) map[string]any {
	link := func(off int) any {
		base := url.URL{Path: r.URL.Path}
		if d.SiteURL != nil {
			base.Scheme, base.Host = d.SiteURL.Scheme, d.SiteURL.Host
		}
		q := r.URL.Query()
		q.Set("limit", strconv.Itoa(limit))
		if off > 0 {
			q.Set("offset", strconv.Itoa(off))
		} else {
			q.Del("offset")
		}
		base.RawQuery = q.Encode()
		return base.String()
	}
	var next, previous any
	if offset+limit < count {
		next = link(offset + limit)
	}
	if offset > 0 {
		previous = link(max(offset-limit, 0))
	}
	return map[string]any{"count": count, "next": next, "previous": previous, "results": results}
}
