package httpauth

import "net/http"

// bearerToken is the token of an "Authorization: Bearer …" header.
func BearerToken(r *http.Request) (string, bool) {
	return bearerCredential(r.Header.Get("Authorization"))
}
