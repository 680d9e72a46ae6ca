package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func init() {
	keyRoutes["GET /api/organizations/{org}"] = KeyRoute{Object: "organization"}
	keyRoutes["PATCH /api/organizations/{org}"] = KeyRoute{Object: "organization"}
}

func organizationJSON(org *gatehouse.Organization, level gatehouse.MembershipLevel) map[string]any {
	return map[string]any{
		"id": org.ID, "name": org.Name, "created_at": org.CreatedAt.UTC().Format(time.RFC3339Nano),
		"membership_level": int(level), "enforce_2fa": org.Enforce2FA,
		"members_can_use_personal_api_keys": org.MembersCanUsePersonalAPIKeys, "session_cookie_age": org.SessionCookieAge,
	}
}

func HandleGetOrganization(d Deps) http.Handler {
	return RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *Caller) {
		org, level, err := d.Organizations.Organization(r.Context(), a.User, r.PathValue("org"))
		if err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		out := organizationJSON(org, level)
		projects, members, err := d.Organizations.ProjectsOf(r.Context(), org)
		if err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		addOrganizationParity(out, org, projects)
		out["member_count"] = members
		WriteJSON(w, http.StatusOK, out)
	})
}

func HandleUpdateOrganization(d Deps) http.Handler {
	return RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *Caller) {
		var in struct {
			Name                         *string         `json:"name"`
			Enforce2FA                   *bool           `json:"enforce_2fa"`
			MembersCanUsePersonalAPIKeys *bool           `json:"members_can_use_personal_api_keys"`
			SessionCookieAge             json.RawMessage `json:"session_cookie_age"`
		}
		if err := DecodeJSON(w, r, &in); err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		ch := gatehouse.OrganizationChange{Name: in.Name, Enforce2FA: in.Enforce2FA, MembersCanUsePersonalAPIKeys: in.MembersCanUsePersonalAPIKeys}
		if len(in.SessionCookieAge) > 0 {
			if bytes.Equal(in.SessionCookieAge, []byte("null")) {
				ch.ClearSessionCookieAge = true
			} else {
				var age int
				if err := json.Unmarshal(in.SessionCookieAge, &age); err != nil {
					WriteError(w, r, d.Logger, gatehouse.Invalid("invalid", "session_cookie_age", "A valid integer is required."))
					return
				}
				ch.SessionCookieAge = &age
			}
		}
		org, level, err := d.Organizations.UpdateOrganization(r.Context(), a.User, a.Session, r.PathValue("org"), ch)
		if err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		out := organizationJSON(org, level)
		projects, members, err := d.Organizations.ProjectsOf(r.Context(), org)
		if err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		addOrganizationParity(out, org, projects)
		out["member_count"] = members
		WriteJSON(w, http.StatusOK, out)
	})
}
