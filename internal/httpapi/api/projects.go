package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// ProjectPrefixes are PostHog's two names for a project's API.
var ProjectPrefixes = []string{"/api/projects", "/api/environments"}

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

// Projects serves the project API: /api/projects and /api/environments,
// with the projects' tokens and secret API keys.
type Projects struct {
	Auth          *httpauth.Auth
	Organizations *gatehouse.OrganizationService
}

// List answers GET /api/projects: the caller's projects, one page of them.
func (h *Projects) List(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	list, err := h.Organizations.Projects(r.Context(), c.User)
	if err != nil {
		return err
	}
	results := make([]map[string]any, 0, len(list))
	for i := range list {
		results = append(results, projectJSON(&list[i], ""))
	}
	paginated(w, r, *h.Auth, results)
	return nil
}

// Get answers GET /api/projects/{project}.
func (h *Projects) Get(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	p, _, err := h.Organizations.Project(r.Context(), c.User, r.PathValue("project"))
	return writeProject(w, p, "", err)
}

// ResetToken answers PATCH /api/projects/{project}/reset_token: a new
// public project token.
func (h *Projects) ResetToken(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	p, err := h.Organizations.ResetProjectToken(r.Context(), c.User, c.Session, r.PathValue("project"))
	return writeProject(w, p, "", err)
}

// RotateSecret answers PATCH /api/projects/{project}/rotate_secret_token:
// a new secret token, shown once, the old one kept as the backup.
func (h *Projects) RotateSecret(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	p, sec, err := h.Organizations.RotateProjectSecret(r.Context(), c.User, c.Session, r.PathValue("project"))
	return writeProject(w, p, sec, err)
}

// DeleteSecretBackup answers PATCH
// /api/projects/{project}/delete_secret_token_backup: the backup secret
// token stops working.
func (h *Projects) DeleteSecretBackup(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	p, err := h.Organizations.DeleteProjectSecretBackup(r.Context(), c.User, c.Session, r.PathValue("project"))
	return writeProject(w, p, "", err)
}

// writeProject answers with p (and secret, the plaintext of a new secret
// token), or returns err.
func writeProject(w http.ResponseWriter, p *gatehouse.Project, secret gatehouse.Secret, err error) error {
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, projectJSON(p, secret))
	return nil
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

// ListKeys answers GET /api/projects/{project}/project_secret_api_keys,
// one page of them.
func (h *Projects) ListKeys(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	list, err := h.Organizations.ProjectSecretKeys(r.Context(), c.User, r.PathValue("project"))
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for i := range list {
		out = append(out, projectKeyJSON(&list[i], ""))
	}
	paginated(w, r, *h.Auth, out)
	return nil
}

type projectKeyInput struct {
	Label  *string   `json:"label"`
	Scopes *[]string `json:"scopes"`
}

// CreateKey answers POST /api/projects/{project}/project_secret_api_keys:
// a new project secret API key, its value shown once.
func (h *Projects) CreateKey(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	var in projectKeyInput
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	var label string
	var scopes []string
	if in.Label != nil {
		label = *in.Label
	}
	if in.Scopes != nil {
		scopes = *in.Scopes
	}
	k, value, err := h.Organizations.CreateProjectSecretKey(r.Context(), c.User, c.Session, r.PathValue("project"), label, scopes)
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusCreated, projectKeyJSON(k, value))
	return nil
}

// GetKey answers GET /api/projects/{project}/project_secret_api_keys/{id}.
func (h *Projects) GetKey(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	k, err := h.Organizations.ProjectSecretKey(r.Context(), c.User, r.PathValue("project"), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, projectKeyJSON(k, ""))
	return nil
}

// UpdateKey answers PATCH
// /api/projects/{project}/project_secret_api_keys/{id}: its label and
// scopes.
func (h *Projects) UpdateKey(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	var in projectKeyInput
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	k, err := h.Organizations.UpdateProjectSecretKey(r.Context(), c.User, c.Session, r.PathValue("project"), r.PathValue("id"), in.Label, in.Scopes)
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, projectKeyJSON(k, ""))
	return nil
}

// DeleteKey answers DELETE
// /api/projects/{project}/project_secret_api_keys/{id}.
func (h *Projects) DeleteKey(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if err := h.Organizations.DeleteProjectSecretKey(r.Context(), c.User, c.Session, r.PathValue("project"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// RollKey answers POST
// /api/projects/{project}/project_secret_api_keys/{id}/roll: a new value
// for the key, shown once.
func (h *Projects) RollKey(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	k, value, err := h.Organizations.RollProjectSecretKey(r.Context(), c.User, c.Session, r.PathValue("project"), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, projectKeyJSON(k, value))
	return nil
}
