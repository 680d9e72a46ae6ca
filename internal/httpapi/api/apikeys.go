package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// currentKey is the key-management reference to the calling key.
const currentKey = "@current"

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// apiKeyJSON renders a key as PostHog does; value is the plaintext, only
// on create and roll.
func apiKeyJSON(k *gatehouse.PersonalAPIKey, value gatehouse.Secret) map[string]any {
	scopes := k.Scopes
	if len(scopes) == 0 {
		scopes = []string{"*"}
	}
	var teams, orgs any
	if len(k.ScopedTeams) > 0 {
		teams = k.ScopedTeams
	}
	if len(k.ScopedOrganizations) > 0 {
		orgs = k.ScopedOrganizations
	}
	out := map[string]any{
		"id": k.ID, "label": k.Label, "mask_value": k.MaskValue, "created_at": k.CreatedAt.UTC().Format(time.RFC3339Nano),
		"last_used_at": timeOrNil(k.LastUsedAt), "last_rolled_at": timeOrNil(k.LastRolledAt), "user_id": k.UserID,
		"scopes": scopes, "scoped_teams": teams, "scoped_organizations": orgs,
		// Gatehouse addition: how many requests sent the key in the query
		// string, where it leaks into logs.
		"query_string_use_count": k.QueryUses,
	}
	if value != "" {
		out["value"] = value.Reveal()
	}
	return out
}

// APIKeys serves personal API key management: /api/personal_api_keys.
type APIKeys struct {
	APIKeys *gatehouse.APIKeyService
}

// keyManagement checks a key-management request: session requests must be
// recent to write; a key may only read itself.
func keyManagement(r *http.Request, a *httpauth.Caller, write bool) error {
	if a.APIKey != nil {
		if id := r.PathValue("id"); write || (id != currentKey && id != a.APIKey.ID) {
			return gatehouse.ErrKeyNotSupported()
		}
	} else if write {
		if err := gatehouse.RequireRecentAuth(a.Session, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// List answers GET /api/personal_api_keys: the caller's keys, to a
// session only.
func (h *APIKeys) List(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if err := keyManagement(r, a, false); err != nil {
		return err
	}
	if a.APIKey != nil { // only reachable through a route without {id}
		return gatehouse.ErrKeyNotSupported()
	}
	list, err := h.APIKeys.List(r.Context(), a.User)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for i := range list {
		out = append(out, apiKeyJSON(&list[i], ""))
	}
	httpauth.WriteJSON(w, http.StatusOK, out)
	return nil
}

// apiKeyInput is the body of create and update.
type apiKeyInput struct {
	Label               *string   `json:"label"`
	Scopes              *[]string `json:"scopes"`
	ScopedTeams         *[]int64  `json:"scoped_teams"`
	ScopedOrganizations *[]string `json:"scoped_organizations"`
}

func (in apiKeyInput) change() gatehouse.NewAPIKey {
	return gatehouse.NewAPIKey{Label: in.Label, Scopes: in.Scopes, ScopedTeams: in.ScopedTeams, ScopedOrganizations: in.ScopedOrganizations}
}

// Create answers POST /api/personal_api_keys: a new key, with its value
// shown this once.
func (h *APIKeys) Create(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if err := keyManagement(r, a, true); err != nil {
		return err
	}
	var in apiKeyInput
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	created, err := h.APIKeys.Create(r.Context(), a.User, in.change())
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusCreated, apiKeyJSON(created.Key, created.Value))
	return nil
}

// Get answers GET /api/personal_api_keys/{id}; "@current" is the key the
// request is authenticated with.
func (h *APIKeys) Get(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if err := keyManagement(r, a, false); err != nil {
		return err
	}
	id := r.PathValue("id")
	if id == currentKey {
		if a.APIKey == nil {
			return gatehouse.NotFound()
		}
		id = a.APIKey.ID
	}
	k, err := h.APIKeys.Get(r.Context(), a.User, id)
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, apiKeyJSON(k, ""))
	return nil
}

// Update answers PATCH and PUT /api/personal_api_keys/{id}: the key's
// label, scopes and scoped organizations and projects.
func (h *APIKeys) Update(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if err := keyManagement(r, a, true); err != nil {
		return err
	}
	var in apiKeyInput
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	k, err := h.APIKeys.Update(r.Context(), a.User, r.PathValue("id"), in.change())
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, apiKeyJSON(k, ""))
	return nil
}

// Delete answers DELETE /api/personal_api_keys/{id}.
func (h *APIKeys) Delete(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if err := keyManagement(r, a, true); err != nil {
		return err
	}
	if err := h.APIKeys.Delete(r.Context(), a.User, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Roll answers POST /api/personal_api_keys/{id}/roll: the key gets a new
// value, shown this once; the old one stops working.
func (h *APIKeys) Roll(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if err := keyManagement(r, a, true); err != nil {
		return err
	}
	rolled, err := h.APIKeys.Roll(r.Context(), a.User, r.PathValue("id"))
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, apiKeyJSON(rolled.Key, rolled.Value))
	return nil
}
