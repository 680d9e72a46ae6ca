package api

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// handleSignup creates a user, an organization and its default project,
// and signs the user in. Without MULTI_ORG_ENABLED it works only while the
// instance has no organization (first set-up).
func HandleSignup(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			FirstName        string  `json:"first_name"`
			LastName         string  `json:"last_name"`
			Email            string  `json:"email"`
			Password         *string `json:"password"`
			OrganizationName string  `json:"organization_name"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		var created *gatehouse.CreatedOrganization
		err := httpauth.WithSignupThrottle(r, d, func() (err error) {
			created, err = httpauth.CreateOwner(r, d, in.FirstName, in.LastName, in.Email, in.Password, in.OrganizationName)
			return err
		})
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		u := created.User
		if d.Verifier != nil {
			// Email is configured: the address is proved before sign-in.
			httpauth.SendVerification(r, d, u)
			httpauth.WriteJSON(w, http.StatusCreated, map[string]any{
				"id": u.ID, "uuid": u.UUID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
				"is_email_verified": false, "redirect_url": "/verify_email/" + u.UUID,
			})
			return
		}
		if err := httpauth.SignIn(w, r, d, created.User, "password"); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusCreated, map[string]any{
			"id": u.ID, "uuid": u.UUID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
			"is_email_verified": u.IsEmailVerified, "redirect_url": "/",
			"organization": map[string]any{"id": created.Organization.ID, "name": created.Organization.Name},
			"team":         map[string]any{"id": created.Project.ID, "api_token": created.Project.APIToken},
		})
	})
}
