package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// addProjectRoutes registers the project API. {project} is a project id or
// "@current".
func addProjectRoutes(mux *http.ServeMux, d httpauth.Auth) {
	for _, p := range api.ProjectPrefixes {
		mux.Handle("GET "+p, api.HandleListProjects(d))
		mux.Handle("GET "+p+"/{project}", api.HandleGetProject(d))
		mux.Handle("PATCH "+p+"/{project}/reset_token", api.HandleProjectAction(d, func(o *gatehouse.OrganizationService) api.ProjectAction { return o.ResetProjectToken }))
		mux.Handle("PATCH "+p+"/{project}/rotate_secret_token", api.HandleRotateSecret(d))
		mux.Handle("PATCH "+p+"/{project}/delete_secret_token_backup", api.HandleProjectAction(d, func(o *gatehouse.OrganizationService) api.ProjectAction { return o.DeleteProjectSecretBackup }))
		mux.Handle("GET "+p+"/{project}/project_secret_api_keys", api.HandleListProjectKeys(d))
		mux.Handle("POST "+p+"/{project}/project_secret_api_keys", api.HandleCreateProjectKey(d))
		mux.Handle("GET "+p+"/{project}/project_secret_api_keys/{id}", api.HandleGetProjectKey(d))
		mux.Handle("PATCH "+p+"/{project}/project_secret_api_keys/{id}", api.HandleUpdateProjectKey(d))
		mux.Handle("DELETE "+p+"/{project}/project_secret_api_keys/{id}", api.HandleDeleteProjectKey(d))
		mux.Handle("POST "+p+"/{project}/project_secret_api_keys/{id}/roll", api.HandleRollProjectKey(d))
	}
}
