package httpauth

import (
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// projectSecretRefusal is the answer to a request that carries a project
// secret (Bearer phs_…) on a route project secrets cannot use, or nil for
// any other request: a valid secret authenticates but is not permitted
// here (403), an invalid one is refused as invalid (401 with a Bearer
// challenge), rather than calling the request credential-less.
func projectSecretRefusal(r *http.Request, d Auth) error {
	tok, ok := BearerToken(r)
	if !ok || !strings.HasPrefix(tok, gatehouse.PrefixProjectSecret) || d.Flags == nil {
		return nil
	}
	_, err := d.Flags.ProjectBySecret(r.Context(), gatehouse.Secret(tok))
	if err == nil {
		err = &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "permission_denied", Detail: "You do not have permission to perform this action."}
	}
	return BearerChallenge(err)
}
