package httpapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// addAPIKeyRoutes registers personal API key management and the
// organization and project APIs around keys.
func addAPIKeyRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /api/personal_api_keys", handleListAPIKeys(d))
	mux.Handle("POST /api/personal_api_keys", handleCreateAPIKey(d))
	mux.Handle("GET /api/personal_api_keys/{id}", handleGetAPIKey(d))
	mux.Handle("PATCH /api/personal_api_keys/{id}", handleUpdateAPIKey(d))
	mux.Handle("PUT /api/personal_api_keys/{id}", handleUpdateAPIKey(d))
	mux.Handle("DELETE /api/personal_api_keys/{id}", handleDeleteAPIKey(d))
	mux.Handle("POST /api/personal_api_keys/{id}/roll", handleRollAPIKey(d))
	addOrganizationRoutes(mux, d)
	addProjectRoutes(mux, d)
}

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

// keyManagement runs a key-management handler: session requests must be
// recent to write; a key may only read itself.
func keyManagement(d Deps, write bool, next func(w http.ResponseWriter, r *http.Request, a *authInfo)) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if a.apiKey != nil {
			if id := r.PathValue("id"); write || (id != currentKey && id != a.apiKey.ID) {
				writeError(w, r, d.Logger, gatehouse.ErrKeyNotSupported())
				return
			}
		} else if write {
			if err := gatehouse.RequireRecentAuth(a.session, time.Now()); err != nil {
				writeError(w, r, d.Logger, err)
				return
			}
		}
		next(w, r, a)
	})
}

func handleListAPIKeys(d Deps) http.Handler {
	return keyManagement(d, false, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if a.apiKey != nil { // only reachable through a route without {id}
			writeError(w, r, d.Logger, gatehouse.ErrKeyNotSupported())
			return
		}
		list, err := d.APIKeys.List(r.Context(), a.user)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for i := range list {
			out = append(out, apiKeyJSON(&list[i], ""))
		}
		writeJSON(w, http.StatusOK, out)
	})
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

func handleCreateAPIKey(d Deps) http.Handler {
	return keyManagement(d, true, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		var in apiKeyInput
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		created, err := d.APIKeys.Create(r.Context(), a.user, in.change())
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusCreated, apiKeyJSON(created.Key, created.Value))
	})
}

func handleGetAPIKey(d Deps) http.Handler {
	return keyManagement(d, false, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		id := r.PathValue("id")
		if id == currentKey {
			if a.apiKey == nil {
				writeError(w, r, d.Logger, gatehouse.NotFound())
				return
			}
			id = a.apiKey.ID
		}
		k, err := d.APIKeys.Get(r.Context(), a.user, id)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, apiKeyJSON(k, ""))
	})
}

func handleUpdateAPIKey(d Deps) http.Handler {
	return keyManagement(d, true, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		var in apiKeyInput
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		k, err := d.APIKeys.Update(r.Context(), a.user, r.PathValue("id"), in.change())
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, apiKeyJSON(k, ""))
	})
}

func handleDeleteAPIKey(d Deps) http.Handler {
	return keyManagement(d, true, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if err := d.APIKeys.Delete(r.Context(), a.user, r.PathValue("id")); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleRollAPIKey(d Deps) http.Handler {
	return keyManagement(d, true, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		rolled, err := d.APIKeys.Roll(r.Context(), a.user, r.PathValue("id"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, apiKeyJSON(rolled.Key, rolled.Value))
	})
}
