package httpauth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

// keyRoute is what a route declares about personal API keys: the scope
// object its requests need ("<object>:read" for safe methods,
// "<object>:write" otherwise), whether its organization is the caller's
// current one (list endpoints without an {org} or {project} in the path),
// whether, without a {project} in the path, its project is the one whose
// public token is ?token= or else the caller's current project (the
// local-evaluation routes), and self, for the key-management routes where
// a key may only read itself (the handler enforces that).
type KeyRoute struct {
	Object         string
	CurrentOrg     bool
	ProjectByToken bool
	Self           bool
}

// requestTarget resolves the organization and project a request works on,
// for the key rules and the organization's 2FA requirement alike: the
// project of the path's {project} or, on projectByToken routes whose path
// names none or @current, of ?token= or else the user's current project; the project's organization,
// or else the path's {org}, or else, on currentOrg routes, the user's
// current organization. named reports whether the request names an
// organization or project at all (the current one of a list route does not
// count). t.Organization is nil when the user is not a member of the
// organization, or the project does not exist.
func RequestTarget(r *http.Request, d Auth, user *gatehouse.User, route KeyRoute) (t gatehouse.Target, named bool, err error) {
	orgRef, projectRef := r.PathValue("org"), r.PathValue("project")
	if route.ProjectByToken && (projectRef == "" || projectRef == gatehouse.CurrentProject) {
		projectRef = gatehouse.CurrentProject
		if tok := r.URL.Query().Get("token"); tok != "" {
			if d.Flags == nil {
				return t, true, gatehouse.NotFound()
			}
			p, err := d.Flags.ProjectByToken(r.Context(), tok)
			if err != nil {
				return t, true, err
			}
			projectRef = strconv.FormatInt(p.ID, 10)
		}
	}
	named = orgRef != "" || projectRef != ""
	if !named && route.CurrentOrg {
		orgRef = gatehouse.CurrentOrganization
	}
	if d.Organizations == nil {
		return t, named, nil
	}
	t, err = d.Organizations.KeyTarget(r.Context(), user, orgRef, projectRef)
	return t, named, err
}

// routeOf is what the mount table says of personal API keys on the
// request's route (d.KeyRoutes, by mux pattern); a route it does not list
// refuses keys.
func routeOf(r *http.Request, d Auth) KeyRoute {
	return d.KeyRoutes[r.Pattern]
}

// bearerCredential parses PostHog's Authorization header form,
// `^Bearer\s+(\S.+)$` ("Bearer" being case-sensitive), without a regular
// expression: every key-authenticated request parses it. The credential
// is returned with surrounding white space trimmed.
func bearerCredential(h string) (string, bool) {
	rest, ok := strings.CutPrefix(h, "Bearer")
	if !ok || rest == "" || !isRegexpSpace(rest[0]) {
		return "", false
	}
	rest = strings.TrimLeft(rest, regexpSpaces)
	// \S.+ : a character that is not \s, then at least one more, none of
	// them a newline (which "." does not match).
	if utf8.RuneCountInString(rest) < 2 || strings.IndexByte(rest, '\n') >= 0 {
		return "", false
	}
	return strings.TrimSpace(rest), true
}

// regexpSpaces is RE2's \s.
const regexpSpaces = "\t\n\f\r "

func isRegexpSpace(c byte) bool { return strings.IndexByte(regexpSpaces, c) >= 0 }

// personalAPIKeyFrom finds the personal API key a request carries: the
// Authorization header, else a personal_api_key field in the body, else in
// the query string. Only the first place found counts. OAuth tokens (pha_)
// and project secrets (phs_) in the header are left to their own
// authenticators. The body is read at most once and put back for the
// handler.
func personalAPIKeyFrom(r *http.Request) (string, gatehouse.KeyTransport, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if tok, ok := bearerCredential(h); ok {
			if !strings.HasPrefix(tok, "pha_") && !strings.HasPrefix(tok, gatehouse.PrefixProjectSecret) {
				return tok, gatehouse.KeyInHeader, true
			}
		}
	}
	if k := bodyAPIKey(r); k != "" {
		return k, gatehouse.KeyInBody, true
	}
	if r.URL.RawQuery != "" && strings.Contains(r.URL.RawQuery, "personal_api_key") {
		if k := r.URL.Query().Get("personal_api_key"); k != "" {
			return k, gatehouse.KeyInQuery, true
		}
	}
	return "", 0, false
}

// bodyAPIKey is the personal_api_key field of a JSON or form body.
func bodyAPIKey(r *http.Request) string {
	if r.Body == nil || r.Body == http.NoBody || safeMethod(r.Method) {
		return ""
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "application/x-www-form-urlencoded":
		if err := ParseFormBody(nil, r); err != nil {
			return ""
		}
		return r.PostForm.Get("personal_api_key")
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		data, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
		r.Body = readCloser{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
		if err != nil || !bytes.Contains(data, []byte(`"personal_api_key"`)) {
			return ""
		}
		var in struct {
			Key string `json:"personal_api_key"`
		}
		if json.Unmarshal(data, &in) != nil {
			return ""
		}
		return in.Key
	}
	return ""
}

// transportLabel names a key transport for the metrics.
func transportLabel(t gatehouse.KeyTransport) string {
	switch t {
	case gatehouse.KeyInBody:
		return "body"
	case gatehouse.KeyInQuery:
		return "query"
	}
	return "header"
}

type readCloser struct {
	io.Reader
	io.Closer
}

// serveWithAPIKey authenticates a request that carries a personal API key
// and applies the route's scope rules (docs/posthog-compat.md#api-key-scopes) before next. Keys are
// checked against the database on every request, so a rolled or deleted
// key fails at once. Key requests need no CSRF token.
func serveWithAPIKey(d Auth, w http.ResponseWriter, r *http.Request, raw string, where gatehouse.KeyTransport, next http.Handler) error {
	if safeMethod(r.Method) {
		r = r.WithContext(gatehouse.WithAuthGeneration(r.Context(), d.AuthGeneration))
	}
	user, key, err := d.APIKeys.Authenticate(r.Context(), raw, where)
	if err != nil {
		metrics.KeyAuthFailed(transportLabel(where))
		// The key authenticator advertises Bearer, as for project secrets.
		return BearerChallenge(err)
	}
	metrics.KeyAuth(transportLabel(where))
	route := routeOf(r, d)
	if !route.Self {
		req := gatehouse.KeyRequest{Object: route.Object, Action: gatehouse.ScopeAction(r.Method)}
		// The target is resolved before any key rule is applied.
		outsider := false
		if route.Object != "" && route.Object != "user" {
			target, named, err := RequestTarget(r, d, user, route)
			if err != nil {
				return err
			}
			outsider = named && target.Organization == nil
			req.Organization, req.Level, req.ProjectID = target.Organization, target.Level, target.ProjectID
		}
		if err := gatehouse.CheckKeyAccess(key, req); err != nil {
			return err
		}
		// A key never reaches an organization, or a project of one, that
		// its user is not a member of.
		if outsider {
			return gatehouse.NotFound()
		}
	}
	ctx := context.WithValue(r.Context(), authKey, &Caller{User: user, APIKey: key})
	ctx = gatehouse.WithAuditActor(ctx, gatehouse.AuditKey(key, user)) // audit log
	next.ServeHTTP(w, r.WithContext(ctx))
	return nil
}
