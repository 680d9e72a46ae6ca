package api

import (
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// keyProfileChange refuses, for a request authenticated by a personal API
// key, the profile changes that need the signed-in app: the email address
// and the password (PostHog's own 403, given before any validation so that
// nothing about addresses or passwords leaks), and the second-factor
// setting, which Gatehouse keeps to sessions.
func keyProfileChange(credentials, secondFactor bool) error {
	if credentials {
		return &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "permission_denied",
			Detail: "You can only change your email or password from the PostHog app, not with an API key or token."}
	}
	if secondFactor {
		return gatehouse.ErrKeyNotSupported()
	}
	return nil
}
