package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func init() {
	httpauth.KeyRoutes["GET /api/organizations/{org}"] = httpauth.KeyRoute{Object: "organization"}
	httpauth.KeyRoutes["PATCH /api/organizations/{org}"] = httpauth.KeyRoute{Object: "organization"}
}

func organizationJSON(org *gatehouse.Organization, level gatehouse.MembershipLevel) map[string]any {
	return map[string]any{
		"id": org.ID, "name": org.Name, "created_at": org.CreatedAt.UTC().Format(time.RFC3339Nano),
		"membership_level": int(level), "enforce_2fa": org.Enforce2FA,
		"members_can_use_personal_api_keys": org.MembersCanUsePersonalAPIKeys, "session_cookie_age": org.SessionCookieAge,
	}
}

func HandleGetOrganization(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		org, level, err := d.Organizations.Organization(r.Context(), a.User, r.PathValue("org"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		out := organizationJSON(org, level)
		projects, members, err := d.Organizations.ProjectsOf(r.Context(), org)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		addOrganizationParity(out, org, projects)
		out["member_count"] = members
		httpauth.WriteJSON(w, http.StatusOK, out)
	})
}

func HandleUpdateOrganization(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		var in struct {
			Name                         *string         `json:"name"`
			Enforce2FA                   *bool           `json:"enforce_2fa"`
			MembersCanUsePersonalAPIKeys *bool           `json:"members_can_use_personal_api_keys"`
			SessionCookieAge             json.RawMessage `json:"session_cookie_age"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		ch := gatehouse.OrganizationChange{Name: in.Name, Enforce2FA: in.Enforce2FA, MembersCanUsePersonalAPIKeys: in.MembersCanUsePersonalAPIKeys}
		if len(in.SessionCookieAge) > 0 {
			if bytes.Equal(in.SessionCookieAge, []byte("null")) {
				ch.ClearSessionCookieAge = true
			} else {
				var age int
				if err := json.Unmarshal(in.SessionCookieAge, &age); err != nil {
					httpauth.WriteError(w, r, gatehouse.Invalid("invalid", "session_cookie_age", "A valid integer is required."))
					return
				}
				ch.SessionCookieAge = &age
			}
		}
		org, level, err := d.Organizations.UpdateOrganization(r.Context(), a.User, a.Session, r.PathValue("org"), ch)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		out := organizationJSON(org, level)
		projects, members, err := d.Organizations.ProjectsOf(r.Context(), org)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		addOrganizationParity(out, org, projects)
		out["member_count"] = members
		httpauth.WriteJSON(w, http.StatusOK, out)
	})
}
