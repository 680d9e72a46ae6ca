package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addProjectRoutes registers the project API. {project} is a project id or
// "@current".
func addProjectRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	projects := &api.Projects{Auth: auth, Organizations: d.Organizations}
	for _, p := range api.ProjectPrefixes {
		mux.Handle("GET "+p, auth.User(projects.List))
		mux.Handle("GET "+p+"/{project}", auth.User(projects.Get))
		mux.Handle("PATCH "+p+"/{project}/reset_token", auth.User(projects.ResetToken))
		mux.Handle("PATCH "+p+"/{project}/rotate_secret_token", auth.User(projects.RotateSecret))
		mux.Handle("PATCH "+p+"/{project}/delete_secret_token_backup", auth.User(projects.DeleteSecretBackup))
		mux.Handle("GET "+p+"/{project}/project_secret_api_keys", auth.User(projects.ListKeys))
		mux.Handle("POST "+p+"/{project}/project_secret_api_keys", auth.User(projects.CreateKey))
		mux.Handle("GET "+p+"/{project}/project_secret_api_keys/{id}", auth.User(projects.GetKey))
		mux.Handle("PATCH "+p+"/{project}/project_secret_api_keys/{id}", auth.User(projects.UpdateKey))
		mux.Handle("DELETE "+p+"/{project}/project_secret_api_keys/{id}", auth.User(projects.DeleteKey))
		mux.Handle("POST "+p+"/{project}/project_secret_api_keys/{id}/roll", auth.User(projects.RollKey))
	}
}
