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
		if err := throttle(r, d, d.SignupRate, "signup-address", clientIP(r)); err != nil {
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
		in.FirstName = strings.TrimSpace(in.FirstName)
		switch {
		case in.FirstName == "":
			writeError(w, r, d.Logger, gatehouse.Invalid("required", "first_name", "This field is required."))
			return
		case utf8.RuneCountInString(in.FirstName) > 128:
			writeError(w, r, d.Logger, gatehouse.Invalid("max_length", "first_name", "Ensure this field has no more than 128 characters."))
			return
		case in.Password == nil:
			writeError(w, r, d.Logger, gatehouse.Invalid("required", "password", "This field is required."))
			return
		}
		orgName := strings.TrimSpace(in.OrganizationName)
		if orgName == "" {
			orgName = in.FirstName + "'s Organization"
		}
		created, err := d.Accounts.CreateOrganizationWithOwner(r.Context(), gatehouse.NewOwner{
			Email: in.Email, Password: gatehouse.Secret(*in.Password), FirstName: in.FirstName, LastName: in.LastName,
			OrganizationName: orgName, OnlyFirst: !d.MultiOrgEnabled, Unverified: d.Verifier != nil,
		})
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
