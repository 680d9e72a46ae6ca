package httpauth

import "net/http"

// sameOrigin refuses a cross-site browser request (csrf.go): the
// anonymous passkey endpoints have no session, hence no CSRF token.
func SameOrigin(r *http.Request, d Auth) bool {
	return CrossOrigin(r, d.SiteURL) == nil
}
