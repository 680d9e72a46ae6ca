package httpapi

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// throttle counts one hit on key under rate; it returns the 429 error when
// the hit is over the limit. Without a limiter nothing is throttled.
func throttle(r *http.Request, d Deps, rate ratelimit.Rate, parts ...string) error {
	if d.Limiter == nil || rate.Limit == 0 {
		return nil
	}
	ok, retry, err := d.Limiter.Allow(r.Context(), ratelimit.Key(parts...), rate)
	if err != nil {
		return err
	}
	if !ok {
		return gatehouse.ThrottledError(retry)
	}
	return nil
}

// handleSignup creates a user, an organization and its default project,
// and signs the user in. Without MULTI_ORG_ENABLED it works only while the
// instance has no organization (first set-up).
func handleSignup(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := throttle(r, d, d.SignupRate, "signup-address", throttleAddress(r)); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		var in struct {
			FirstName        string  `json:"first_name"`
			LastName         string  `json:"last_name"`
			Email            string  `json:"email"`
			Password         *string `json:"password"`
			OrganizationName string  `json:"organization_name"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		created, err := createOwner(r, d, in.FirstName, in.LastName, in.Email, in.Password, in.OrganizationName)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		u := created.User
		if d.Verifier != nil {
			// Email is configured: the address is proved before sign-in.
			sendVerification(r, d, u)
			writeJSON(w, http.StatusCreated, map[string]any{
				"id": u.ID, "uuid": u.UUID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
				"is_email_verified": false, "redirect_url": "/verify_email/" + u.UUID,
			})
			return
		}
		if err := signIn(w, r, d, created.User, "password"); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{
			"id": u.ID, "uuid": u.UUID, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
			"is_email_verified": u.IsEmailVerified, "redirect_url": "/",
			"organization": map[string]any{"id": created.Organization.ID, "name": created.Organization.Name},
			"team":         map[string]any{"id": created.Project.ID, "api_token": created.Project.APIToken},
		})
	})
}

// createOwner validates a signup (the JSON API's and the page's) and creates
// the user, their organization and its default project. A nil password is
// a missing field.
func createOwner(r *http.Request, d Deps, firstName, lastName, email string, password *string, organizationName string) (*gatehouse.CreatedOrganization, error) {
	firstName = strings.TrimSpace(firstName)
	switch {
	case firstName == "":
		return nil, gatehouse.Invalid("required", "first_name", "This field is required.")
	case utf8.RuneCountInString(firstName) > 128:
		return nil, gatehouse.Invalid("max_length", "first_name", "Ensure this field has no more than 128 characters.")
	case password == nil:
		return nil, gatehouse.Invalid("required", "password", "This field is required.")
	}
	orgName := strings.TrimSpace(organizationName)
	if orgName == "" {
		orgName = firstName + "'s Organization"
	}
	return d.Accounts.CreateOrganizationWithOwner(r.Context(), gatehouse.NewOwner{
		Email: email, Password: gatehouse.Secret(*password), FirstName: firstName, LastName: lastName,
		OrganizationName: orgName, OnlyFirst: !d.MultiOrgEnabled, Unverified: d.Verifier != nil,
	})
}
