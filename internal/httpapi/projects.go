package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// projectPrefixes are PostHog's two names for a project's API.
var projectPrefixes = []string{"/api/projects", "/api/environments"}

func init() {
	for _, p := range projectPrefixes {
		keyRoutes["GET "+p] = keyRoute{object: "project", currentOrg: true}
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
			keyRoutes[route] = keyRoute{object: "project"}
		}
	}
}

// addProjectRoutes registers the project API. {project} is a project id or
// "@current".
func addProjectRoutes(mux *http.ServeMux, d Deps) {
	for _, p := range projectPrefixes {
		mux.Handle("GET "+p, handleListProjects(d))
		mux.Handle("GET "+p+"/{project}", handleGetProject(d))
		mux.Handle("PATCH "+p+"/{project}/reset_token", handleProjectAction(d, func(o *gatehouse.OrganizationService) projectAction { return o.ResetProjectToken }))
		mux.Handle("PATCH "+p+"/{project}/rotate_secret_token", handleRotateSecret(d))
		mux.Handle("PATCH "+p+"/{project}/delete_secret_token_backup", handleProjectAction(d, func(o *gatehouse.OrganizationService) projectAction { return o.DeleteProjectSecretBackup }))
		mux.Handle("GET "+p+"/{project}/project_secret_api_keys", handleListProjectKeys(d))
		mux.Handle("POST "+p+"/{project}/project_secret_api_keys", handleCreateProjectKey(d))
		mux.Handle("GET "+p+"/{project}/project_secret_api_keys/{id}", handleGetProjectKey(d))
		mux.Handle("PATCH "+p+"/{project}/project_secret_api_keys/{id}", handleUpdateProjectKey(d))
		mux.Handle("DELETE "+p+"/{project}/project_secret_api_keys/{id}", handleDeleteProjectKey(d))
		mux.Handle("POST "+p+"/{project}/project_secret_api_keys/{id}/roll", handleRollProjectKey(d))
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

func handleListProjects(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		list, err := d.Organizations.Projects(r.Context(), a.user)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		results := make([]map[string]any, 0, len(list))
		for i := range list {
			results = append(results, projectJSON(&list[i], ""))
		}
		paginated(w, r, d, results)
	})
}

func handleGetProject(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		p, _, err := d.Organizations.Project(r.Context(), a.user, r.PathValue("project"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, projectJSON(p, ""))
	})
}

type projectAction func(ctx context.Context, user *gatehouse.User, sess *gatehouse.Session, ref string) (*gatehouse.Project, error)

func handleProjectAction(d Deps, action func(*gatehouse.OrganizationService) projectAction) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		p, err := action(d.Organizations)(r.Context(), a.user, a.session, r.PathValue("project"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, projectJSON(p, ""))
	})
}

func handleRotateSecret(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		p, sec, err := d.Organizations.RotateProjectSecret(r.Context(), a.user, a.session, r.PathValue("project"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, projectJSON(p, sec))
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

func handleListProjectKeys(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		list, err := d.Organizations.ProjectSecretKeys(r.Context(), a.user, r.PathValue("project"))
		if err != nil {
			writeError(w, r, d.Logger, err)
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

func handleCreateProjectKey(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		var in projectKeyInput
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
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
		k, value, err := d.Organizations.CreateProjectSecretKey(r.Context(), a.user, a.session, r.PathValue("project"), label, scopes)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusCreated, projectKeyJSON(k, value))
	})
}

func handleGetProjectKey(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		k, err := d.Organizations.ProjectSecretKey(r.Context(), a.user, r.PathValue("project"), r.PathValue("id"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, projectKeyJSON(k, ""))
	})
}

func handleUpdateProjectKey(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		var in projectKeyInput
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		k, err := d.Organizations.UpdateProjectSecretKey(r.Context(), a.user, a.session, r.PathValue("project"), r.PathValue("id"), in.Label, in.Scopes)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, projectKeyJSON(k, ""))
	})
}

func handleDeleteProjectKey(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if err := d.Organizations.DeleteProjectSecretKey(r.Context(), a.user, a.session, r.PathValue("project"), r.PathValue("id")); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleRollProjectKey(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		k, value, err := d.Organizations.RollProjectSecretKey(r.Context(), a.user, a.session, r.PathValue("project"), r.PathValue("id"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, projectKeyJSON(k, value))
	})
}
