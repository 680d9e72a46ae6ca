package web

import (
	_ "embed"
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// What every page shares beyond the layout: logging out with a notice,
// the HTML 404 page, and the small scripts (copy buttons, the password
// strength meter).

// CopyScript makes the copy buttons work (the text stays selectable
// without it).
//
//go:embed static/copy.js
var CopyScript []byte

// StrengthScript shows the password-strength meter as the user types (the
// server refuses weak passwords without it).
//
//go:embed static/strength.js
var StrengthScript []byte

func init() {
	pageTemplates["not_found"] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/not_found.html"))
}

// Logout ends the caller's session (POST /logout; Auth.Session has checked
// the form's CSRF token) and sends the browser to the login page, which
// says so.
func (h *Pages) Logout(w http.ResponseWriter, r *http.Request) error {
	if err := httpauth.EndSession(w, r, *h.Auth); err != nil {
		return err
	}
	http.Redirect(w, r, "/login?message=logged_out", http.StatusSeeOther)
	return nil
}

// NotFoundPage is what not_found.html shows.
type NotFoundPage struct {
	Layout
}

func (*NotFoundPage) template() string { return "not_found" }

// NotFound answers paths no route serves: an HTML page for browsers
// (Accept prefers text/html, and the path is not under /api/), api
// (the JSON 404 envelope) for everyone else. A signed-in person's page
// has the navigation bar, like every other page they see: a browser's GET
// is served through auth.Session, which finds the caller. (Other methods
// are not: a stray POST with a session cookie gets its 404, not a CSRF
// refusal.)
func NotFound(api http.Handler, auth *httpauth.Auth) http.Handler {
	anonymous := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		renderPage(w, r, http.StatusNotFound, &NotFoundPage{})
	})
	withCaller := auth.Session(func(w http.ResponseWriter, r *http.Request) error {
		page := &NotFoundPage{}
		if a := pageUser(r); a != nil {
			page.CSRFToken = sessionCSRFToken(w, r, auth, a)
		}
		renderPage(w, r, http.StatusNotFound, page)
		return nil
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") || !prefersHTML(r.Header.Get("Accept")):
			api.ServeHTTP(w, r)
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			withCaller.ServeHTTP(w, r)
		default:
			anonymous.ServeHTTP(w, r)
		}
	})
}

// prefersHTML reports whether an Accept header ranks text/html above
// application/json (as browsers' navigation requests do).
func prefersHTML(accept string) bool {
	var html, json float64 = -1, -1
	for _, part := range strings.Split(accept, ",") {
		media, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		switch media {
		case "text/html", "application/xhtml+xml":
			html = max(html, q)
		case "application/json":
			json = max(json, q)
		case "*/*":
			json = max(json, q*0.999) // a wildcard alone is an API client
		}
	}
	return html > 0 && html > json
}
