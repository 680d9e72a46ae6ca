package api

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// socialLinkJSON is one link in the social accounts API.
func socialLinkJSON(l gatehouse.SocialLink) map[string]any {
	return map[string]any{"id": l.ID, "provider": l.Backend, "uid": l.UID, "email": l.Email, "created_at": l.CreatedAt.UTC().Format(time.RFC3339)}
}

// handleSocialAccounts is GET /api/users/@me/social_accounts/: the
// signed-in user's provider links.
func HandleSocialAccounts(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if d.SSO == nil {
			httpauth.WriteJSON(w, http.StatusOK, map[string]any{"results": []any{}})
			return
		}
		links, err := d.SSO.Links(r.Context(), a.User)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		out := make([]map[string]any, 0, len(links))
		for _, l := range links {
			out = append(out, socialLinkJSON(l))
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"results": out})
	})
}

// handleSocialUnlink removes a link: DELETE /api/users/@me/social_accounts/<id>/
// (JSON) or POST /disconnect/<backend>/[<id>/] (the settings form, which
// returns to the settings page).
func HandleSocialUnlink(d httpauth.Auth, form bool) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if a.Session == nil {
			httpauth.WriteError(w, r, httpauth.ErrNotAuthenticated())
			return
		}
		var err error
		var removed *gatehouse.SocialLink
		if d.SSO == nil {
			err = gatehouse.NotFound()
		} else {
			removed, err = d.SSO.Unlink(r.Context(), a.User, r.PathValue("backend"), r.PathValue("id"))
		}
		if form {
			if err != nil {
				code := "sso_error"
				if e, ok := gatehouse.AsError(err); ok {
					code = e.Code
				}
				http.Redirect(w, r, "/settings?"+url.Values{"error_code": {code}}.Encode(), http.StatusSeeOther)
				return
			}
			http.Redirect(w, r, "/settings?"+url.Values{"done": {"unlinked"}, "backend": {removed.Backend}}.Encode(), http.StatusSeeOther)
			return
		}
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
