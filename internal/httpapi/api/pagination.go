package api

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
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
func paginated[T any](w http.ResponseWriter, r *http.Request, d httpauth.Auth, results []T) {
	limit, offset := pageWindow(r)
	writePage(w, r, d, results, limit, offset)
}

// writePage writes the page of results at limit and offset.
func writePage[T any](w http.ResponseWriter, r *http.Request, d httpauth.Auth, results []T, limit, offset int) {
	count := len(results)
	page := results[min(offset, count):min(offset+limit, count)]
	if page == nil {
		page = []T{}
	}
	httpauth.WriteJSON(w, http.StatusOK, httpauth.PageJSON(r, d, page, count, limit, offset))
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
