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

// SocialAccounts serves the signed-in user's social login links: the
// social accounts API and the settings page's disconnect form. Without an
// SSO service there are none.
type SocialAccounts struct {
	SSO *gatehouse.SSOService
}

// List answers GET /api/users/@me/social_accounts: the caller's provider
// links.
func (h *SocialAccounts) List(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if h.SSO == nil {
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"results": []any{}})
		return nil
	}
	links, err := h.SSO.Links(r.Context(), c.User)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(links))
	for _, l := range links {
		out = append(out, socialLinkJSON(l))
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}

// Unlink answers DELETE /api/users/@me/social_accounts/{id}: it removes a
// link (sessions only).
func (h *SocialAccounts) Unlink(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if c.Session == nil {
		return httpauth.ErrNotAuthenticated()
	}
	if _, err := h.unlink(r, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Disconnect answers POST /disconnect/{backend}[/{id}], the settings
// form (sessions only): it removes a link and returns to the settings
// page, which shows the outcome.
func (h *SocialAccounts) Disconnect(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if c.Session == nil {
		return httpauth.ErrNotAuthenticated()
	}
	removed, err := h.unlink(r, c)
	if err != nil {
		code := "sso_error"
		if e, ok := gatehouse.AsError(err); ok {
			code = e.Code
		}
		http.Redirect(w, r, "/settings?"+url.Values{"error_code": {code}}.Encode(), http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/settings?"+url.Values{"done": {"unlinked"}, "backend": {removed.Backend}}.Encode(), http.StatusSeeOther)
	return nil
}

// unlink removes the caller's link the path names ({backend}, and {id}
// when there is one).
func (h *SocialAccounts) unlink(r *http.Request, c *httpauth.Caller) (*gatehouse.SocialLink, error) {
	if h.SSO == nil {
		return nil, gatehouse.NotFound()
	}
	return h.SSO.Unlink(r.Context(), c.User, r.PathValue("backend"), r.PathValue("id"))
}
