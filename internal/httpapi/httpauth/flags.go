package httpauth

import "net/http"

// bearerToken is the token of an "Authorization: Bearer …" header.
func BearerToken(r *http.Request) (string, bool) {
	return bearerCredential(r.Header.Get("Authorization"))
}

// challengeWriter sets its WWW-Authenticate value when the status is
// written, replacing the "Session" that writeError puts on every 401.
type ChallengeWriter struct {
	http.ResponseWriter
	Challenge string
}

func (c *ChallengeWriter) WriteHeader(status int) {
	if status == http.StatusUnauthorized {
		c.Header().Set("WWW-Authenticate", c.Challenge)
	}
	c.ResponseWriter.WriteHeader(status)
}
