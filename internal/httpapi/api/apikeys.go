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

// keyManagement runs a key-management handler: session requests must be
// recent to write; a key may only read itself.
func keyManagement(d httpauth.Auth, write bool, next func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller)) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if a.APIKey != nil {
			if id := r.PathValue("id"); write || (id != currentKey && id != a.APIKey.ID) {
				httpauth.WriteError(w, r, gatehouse.ErrKeyNotSupported())
				return
			}
		} else if write {
			if err := gatehouse.RequireRecentAuth(a.Session, time.Now()); err != nil {
				httpauth.WriteError(w, r, err)
				return
			}
		}
		next(w, r, a)
	})
}

func HandleListAPIKeys(d httpauth.Auth) http.Handler {
	return keyManagement(d, false, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if a.APIKey != nil { // only reachable through a route without {id}
			httpauth.WriteError(w, r, gatehouse.ErrKeyNotSupported())
			return
		}
		list, err := d.APIKeys.List(r.Context(), a.User)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for i := range list {
			out = append(out, apiKeyJSON(&list[i], ""))
		}
		httpauth.WriteJSON(w, http.StatusOK, out)
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

func HandleCreateAPIKey(d httpauth.Auth) http.Handler {
	return keyManagement(d, true, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		var in apiKeyInput
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		created, err := d.APIKeys.Create(r.Context(), a.User, in.change())
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusCreated, apiKeyJSON(created.Key, created.Value))
	})
}

func HandleGetAPIKey(d httpauth.Auth) http.Handler {
	return keyManagement(d, false, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		id := r.PathValue("id")
		if id == currentKey {
			if a.APIKey == nil {
				httpauth.WriteError(w, r, gatehouse.NotFound())
				return
			}
			id = a.APIKey.ID
		}
		k, err := d.APIKeys.Get(r.Context(), a.User, id)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, apiKeyJSON(k, ""))
	})
}

func HandleUpdateAPIKey(d httpauth.Auth) http.Handler {
	return keyManagement(d, true, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		var in apiKeyInput
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		k, err := d.APIKeys.Update(r.Context(), a.User, r.PathValue("id"), in.change())
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, apiKeyJSON(k, ""))
	})
}

func HandleDeleteAPIKey(d httpauth.Auth) http.Handler {
	return keyManagement(d, true, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if err := d.APIKeys.Delete(r.Context(), a.User, r.PathValue("id")); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func HandleRollAPIKey(d httpauth.Auth) http.Handler {
	return keyManagement(d, true, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		rolled, err := d.APIKeys.Roll(r.Context(), a.User, r.PathValue("id"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, apiKeyJSON(rolled.Key, rolled.Value))
	})
}
