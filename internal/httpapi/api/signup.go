package api

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Signup serves POST /api/signup.
type Signup struct {
	Auth *httpauth.Auth
	// Verifier makes email-verification links; nil when email is not
	// configured (then new users are signed in at once).
	Verifier *gatehouse.EmailVerifier
}

// Create answers POST /api/signup: it creates a user, an organization and
// its default project, and signs the user in, or, when email is
// configured, mails a verification link first. Without MULTI_ORG_ENABLED
// it works only while the instance has no organization (first set-up).
func (h *Signup) Create(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		FirstName        string  `json:"first_name"`
		LastName         string  `json:"last_name"`
		Email            string  `json:"email"`
		Password         *string `json:"password"`
		OrganizationName string  `json:"organization_name"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	var created *gatehouse.CreatedOrganization
	err := httpauth.WithSignupThrottle(r, *h.Auth, func() (err error) {
		created, err = httpauth.CreateOwner(r, *h.Auth, in.FirstName, in.LastName, in.Email, in.Password, in.OrganizationName)
		return err
	})
	if err != nil {
		return err
	}
	u := created.User
	if h.Verifier != nil {
		// Email is configured: the address is proved before sign-in.
		httpauth.SendVerification(r, *h.Auth, u)
		httpauth.WriteJSON(w, http.StatusCreated, map[string]any{
			"id": u.ID, "uuid": u.UUID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
			"is_email_verified": false, "redirect_url": "/verify_email/" + u.UUID,
		})
		return nil
	}
	if _, err := httpauth.StartSession(w, r, *h.Auth, created.User, httpauth.LoginStep{Method: "password", NewAccount: true}); err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusCreated, map[string]any{
		"id": u.ID, "uuid": u.UUID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"is_email_verified": u.IsEmailVerified, "redirect_url": "/",
		"organization": map[string]any{"id": created.Organization.ID, "name": created.Organization.Name},
		"team":         map[string]any{"id": created.Project.ID, "api_token": created.Project.APIToken},
	})
	return nil
}
