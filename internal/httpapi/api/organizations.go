package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func organizationJSON(org *gatehouse.Organization, level gatehouse.MembershipLevel) map[string]any {
	return map[string]any{
		"id": org.ID, "name": org.Name, "created_at": org.CreatedAt.UTC().Format(time.RFC3339Nano),
		"membership_level": int(level), "enforce_2fa": org.Enforce2FA,
		"members_can_use_personal_api_keys": org.MembersCanUsePersonalAPIKeys, "session_cookie_age": org.SessionCookieAge,
	}
}

// Organizations serves the organization API (/api/organizations/{org}).
type Organizations struct {
	Organizations *gatehouse.OrganizationService
}

// Get answers GET /api/organizations/{org}: the organization with its
// projects and member count.
func (h *Organizations) Get(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	org, level, err := h.Organizations.Organization(r.Context(), c.User, r.PathValue("org"))
	if err != nil {
		return err
	}
	return h.write(w, r, org, level)
}

// Update answers PATCH /api/organizations/{org}: its name, 2FA
// enforcement, the personal API key switch and the session length (admins
// only).
func (h *Organizations) Update(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	var in struct {
		Name                         *string         `json:"name"`
		Enforce2FA                   *bool           `json:"enforce_2fa"`
		MembersCanUsePersonalAPIKeys *bool           `json:"members_can_use_personal_api_keys"`
		SessionCookieAge             json.RawMessage `json:"session_cookie_age"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	ch := gatehouse.OrganizationChange{Name: in.Name, Enforce2FA: in.Enforce2FA, MembersCanUsePersonalAPIKeys: in.MembersCanUsePersonalAPIKeys}
	if len(in.SessionCookieAge) > 0 {
		if bytes.Equal(in.SessionCookieAge, []byte("null")) {
			ch.ClearSessionCookieAge = true
		} else {
			var age int
			if err := json.Unmarshal(in.SessionCookieAge, &age); err != nil {
				return gatehouse.Invalid("invalid", "session_cookie_age", "A valid integer is required.")
			}
			ch.SessionCookieAge = &age
		}
	}
	org, level, err := h.Organizations.UpdateOrganization(r.Context(), c.User, c.Session, r.PathValue("org"), ch)
	if err != nil {
		return err
	}
	return h.write(w, r, org, level)
}

// write answers with org as the caller at level sees it, with its
// projects and member count.
func (h *Organizations) write(w http.ResponseWriter, r *http.Request, org *gatehouse.Organization, level gatehouse.MembershipLevel) error {
	out := organizationJSON(org, level)
	projects, members, err := h.Organizations.ProjectsOf(r.Context(), org)
	if err != nil {
		return err
	}
	addOrganizationParity(out, org, projects)
	out["member_count"] = members
	httpauth.WriteJSON(w, http.StatusOK, out)
	return nil
}
