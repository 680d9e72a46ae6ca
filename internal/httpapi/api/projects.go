package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// projectPrefixes are PostHog's two names for a project's API.
var ProjectPrefixes = []string{"/api/projects", "/api/environments"}

func init() {
	for _, p := range ProjectPrefixes {
		httpauth.KeyRoutes["GET "+p] = httpauth.KeyRoute{Object: "project", CurrentOrg: true}
		for _, route := range []string{
			"GET " + p + "/{project}",
			"PATCH " + p + "/{project}/reset_token",
			"PATCH " + p + "/{project}/rotate_secret_token",
			"PATCH " + p + "/{project}/delete_secret_token_backup",
			"GET " + p + "/{project}/project_secret_api_keys",
			"POST " + p + "/{project}/project_secret_api_keys",
			"GET " + p + "/{project}/project_secret_api_keys/{id}",
			"PATCH " + p + "/{project}/project_secret_api_keys/{id}",
			"DELETE " + p + "/{project}/project_secret_api_keys/{id}",
			"POST " + p + "/{project}/project_secret_api_keys/{id}/roll",
		} {
			httpauth.KeyRoutes[route] = httpauth.KeyRoute{Object: "project"}
		}
	}
}

// projectJSON renders a project. secret is the new secret token's
// plaintext, only in the answer of a rotation.
func projectJSON(p *gatehouse.Project, secret gatehouse.Secret) map[string]any {
	var backupMask, sec any
	if p.SecretTokenBackupHash != "" {
		backupMask = p.SecretTokenBackupMask
	}
	if secret != "" {
		sec = secret.Reveal()
	}
	out := map[string]any{
		"id": p.ID, "organization": p.OrganizationID, "name": p.Name, "api_token": p.APIToken,
		"created_at": p.CreatedAt.UTC().Format(time.RFC3339Nano), "secret_api_token": sec,
		"secret_api_token_mask": p.SecretTokenMask, "secret_api_token_backup_mask": backupMask,
	}
	addProjectParity(out, p)
	return out
}

func HandleListProjects(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		list, err := d.Organizations.Projects(r.Context(), a.User)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		results := make([]map[string]any, 0, len(list))
		for i := range list {
			results = append(results, projectJSON(&list[i], ""))
		}
		paginated(w, r, d, results)
	})
}

func HandleGetProject(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		p, _, err := d.Organizations.Project(r.Context(), a.User, r.PathValue("project"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, projectJSON(p, ""))
	})
}

type ProjectAction func(ctx context.Context, user *gatehouse.User, sess *gatehouse.Session, ref string) (*gatehouse.Project, error)

func HandleProjectAction(d httpauth.Auth, action func(*gatehouse.OrganizationService) ProjectAction) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		p, err := action(d.Organizations)(r.Context(), a.User, a.Session, r.PathValue("project"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, projectJSON(p, ""))
	})
}

func HandleRotateSecret(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		p, sec, err := d.Organizations.RotateProjectSecret(r.Context(), a.User, a.Session, r.PathValue("project"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, projectJSON(p, sec))
	})
}

func projectKeyJSON(k *gatehouse.ProjectSecretAPIKey, value gatehouse.Secret) map[string]any {
	var by any
	if k.CreatedByID != 0 {
		by = k.CreatedByID
	}
	out := map[string]any{
		"id": k.ID, "label": k.Label, "mask_value": k.MaskValue, "created_at": k.CreatedAt.UTC().Format(time.RFC3339Nano),
		"created_by": by, "last_used_at": timeOrNil(k.LastUsedAt), "last_rolled_at": timeOrNil(k.LastRolledAt), "scopes": k.Scopes,
	}
	if value != "" {
		out["value"] = value.Reveal()
	}
	return out
}

func HandleListProjectKeys(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		list, err := d.Organizations.ProjectSecretKeys(r.Context(), a.User, r.PathValue("project"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for i := range list {
			out = append(out, projectKeyJSON(&list[i], ""))
		}
		paginated(w, r, d, out)
	})
}

type projectKeyInput struct {
	Label  *string   `json:"label"`
	Scopes *[]string `json:"scopes"`
}

func HandleCreateProjectKey(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		var in projectKeyInput
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		var label string
		var scopes []string
		if in.Label != nil {
			label = *in.Label
		}
		if in.Scopes != nil {
			scopes = *in.Scopes
		}
		k, value, err := d.Organizations.CreateProjectSecretKey(r.Context(), a.User, a.Session, r.PathValue("project"), label, scopes)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusCreated, projectKeyJSON(k, value))
	})
}

func HandleGetProjectKey(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		k, err := d.Organizations.ProjectSecretKey(r.Context(), a.User, r.PathValue("project"), r.PathValue("id"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, projectKeyJSON(k, ""))
	})
}

func HandleUpdateProjectKey(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		var in projectKeyInput
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		k, err := d.Organizations.UpdateProjectSecretKey(r.Context(), a.User, a.Session, r.PathValue("project"), r.PathValue("id"), in.Label, in.Scopes)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, projectKeyJSON(k, ""))
	})
}

func HandleDeleteProjectKey(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if err := d.Organizations.DeleteProjectSecretKey(r.Context(), a.User, a.Session, r.PathValue("project"), r.PathValue("id")); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func HandleRollProjectKey(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		k, value, err := d.Organizations.RollProjectSecretKey(r.Context(), a.User, a.Session, r.PathValue("project"), r.PathValue("id"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, projectKeyJSON(k, value))
	})
}
