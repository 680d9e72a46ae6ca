package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// addProjectRoutes registers the project API. {project} is a project id or
// "@current".
func addProjectRoutes(mux *http.ServeMux, d Deps) {
	for _, p := range ProjectPrefixes {
		mux.Handle("GET "+p, HandleListProjects(d))
		mux.Handle("GET "+p+"/{project}", HandleGetProject(d))
		mux.Handle("PATCH "+p+"/{project}/reset_token", HandleProjectAction(d, func(o *gatehouse.OrganizationService) ProjectAction { return o.ResetProjectToken }))
		mux.Handle("PATCH "+p+"/{project}/rotate_secret_token", HandleRotateSecret(d))
		mux.Handle("PATCH "+p+"/{project}/delete_secret_token_backup", HandleProjectAction(d, func(o *gatehouse.OrganizationService) ProjectAction { return o.DeleteProjectSecretBackup }))
		mux.Handle("GET "+p+"/{project}/project_secret_api_keys", HandleListProjectKeys(d))
		mux.Handle("POST "+p+"/{project}/project_secret_api_keys", HandleCreateProjectKey(d))
		mux.Handle("GET "+p+"/{project}/project_secret_api_keys/{id}", HandleGetProjectKey(d))
		mux.Handle("PATCH "+p+"/{project}/project_secret_api_keys/{id}", HandleUpdateProjectKey(d))
		mux.Handle("DELETE "+p+"/{project}/project_secret_api_keys/{id}", HandleDeleteProjectKey(d))
		mux.Handle("POST "+p+"/{project}/project_secret_api_keys/{id}/roll", HandleRollProjectKey(d))
	}
}
