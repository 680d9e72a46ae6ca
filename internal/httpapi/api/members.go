package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/google/uuid"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// membershipID names a membership stably without a column of its own: a
// name-based UUID of the organization and the user.
func membershipID(orgID, userUUID string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("gatehouse:membership:"+orgID+":"+userUUID)).String()
}

// pathOrgID is the organization id the path's {org} names.
func pathOrgID(r *http.Request, a *httpauth.Caller) string {
	if org := r.PathValue("org"); org != gatehouse.CurrentOrganization {
		return org
	}
	return a.User.CurrentOrganizationID
}

func memberJSON(orgID string, m *gatehouse.Member) map[string]any {
	var lastLogin any
	if !m.LastLoginAt.IsZero() {
		lastLogin = m.LastLoginAt.Format(time.RFC3339Nano)
	}
	verified := m.User.IsEmailVerified != nil && *m.User.IsEmailVerified
	return map[string]any{
		"id": membershipID(orgID, m.User.UUID),
		"user": map[string]any{
			"id": m.User.ID, "uuid": m.User.UUID, "distinct_id": m.User.UUID, "email": m.User.Email,
			"first_name": m.User.FirstName, "last_name": m.User.LastName, "is_email_verified": verified,
		},
		"level": int(m.Level), "joined_at": m.JoinedAt.Format(time.RFC3339Nano), "updated_at": m.UpdatedAt.Format(time.RFC3339Nano),
		"is_2fa_enabled": m.TwoFactor, "has_social_auth": m.HasSocialAuth, "last_login": lastLogin,
	}
}

// Members serves the members API (/api/organizations/{org}/members), the
// list of the caller's organizations and an organization's projects.
type Members struct {
	Auth    *httpauth.Auth
	Members *gatehouse.MemberService
}

// ListOrganizations answers GET /api/organizations: the caller's
// organizations, only those a key is scoped to.
func (h *Members) ListOrganizations(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	orgs, levels, err := h.Members.Organizations(r.Context(), a.User)
	if err != nil {
		return err
	}
	// A key scoped to organizations lists only those.
	var scopedTo []string
	if a.APIKey != nil {
		scopedTo = a.APIKey.ScopedOrganizations
	}
	results := []map[string]any{}
	for i := range orgs {
		if len(scopedTo) > 0 && !slices.Contains(scopedTo, orgs[i].ID) {
			continue
		}
		results = append(results, organizationJSON(&orgs[i], levels[i]))
	}
	limit, offset := pageParams(r)
	writePage(w, r, *h.Auth, results, limit, offset)
	return nil
}

// ListProjects answers GET /api/organizations/{org}/projects: the
// organization's projects, only those a key is scoped to.
func (h *Members) ListProjects(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	list, err := h.Members.OrganizationProjects(r.Context(), a.User, r.PathValue("org"))
	if err != nil {
		return err
	}
	results := make([]map[string]any, 0, len(list))
	for i := range list {
		if a.APIKey != nil && len(a.APIKey.ScopedTeams) > 0 && !slices.Contains(a.APIKey.ScopedTeams, list[i].ID) {
			continue
		}
		results = append(results, projectJSON(&list[i], ""))
	}
	limit, offset := pageParams(r)
	writePage(w, r, *h.Auth, results, limit, offset)
	return nil
}

// List answers GET /api/organizations/{org}/members: one page of the
// organization's members.
func (h *Members) List(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	limit, offset := pageParams(r)
	list, count, err := h.Members.Members(r.Context(), a.User, r.PathValue("org"), limit, offset)
	if err != nil {
		return err
	}
	orgID := pathOrgID(r, a)
	results := make([]map[string]any, 0, len(list))
	for i := range list {
		results = append(results, memberJSON(orgID, &list[i]))
	}
	httpauth.WriteJSON(w, http.StatusOK, httpauth.PageJSON(r, *h.Auth, results, count, limit, offset))
	return nil
}

// Get answers GET /api/organizations/{org}/members/{user} as PostHog does:
// the members API has no retrieve, so a member gets 405 and an outsider
// the permission error.
func (h *Members) Get(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if _, _, err := h.Members.Members(r.Context(), a.User, r.PathValue("org"), 1, 0); err != nil {
		return err
	}
	return &gatehouse.Error{Kind: gatehouse.KindMethodNotAllowed, Code: "method_not_allowed", Detail: `Method "GET" not allowed.`}
}

// Update answers PATCH and PUT /api/organizations/{org}/members/{user}: it
// sets the member's level.
func (h *Members) Update(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	var in struct {
		Level *int `json:"level"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Level == nil {
		return gatehouse.Invalid("required", "level", "This field is required.")
	}
	level, err := gatehouse.ParseMembershipLevel(*in.Level)
	if err != nil {
		return err
	}
	m, err := h.Members.SetLevel(r.Context(), a.User, a.Session, r.PathValue("org"), r.PathValue("user"), level)
	if err != nil {
		return err
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "membership level changed", slog.String("by", a.User.UUID), slog.String("user", m.User.UUID),
		slog.String("organization", r.PathValue("org")), slog.String("level", strconv.Itoa(int(level))))
	httpauth.WriteJSON(w, http.StatusOK, memberJSON(pathOrgID(r, a), m))
	return nil
}

// Delete answers DELETE /api/organizations/{org}/members/{user}: it
// removes the member from the organization.
func (h *Members) Delete(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	m, err := h.Members.RemoveMember(r.Context(), a.User, a.Session, r.PathValue("org"), r.PathValue("user"))
	if err != nil {
		return err
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "member removed", slog.String("by", a.User.UUID), slog.String("user", m.User.UUID),
		slog.String("organization", r.PathValue("org")))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// switchCurrent applies PATCH /api/users/@me's set_current_organization
// and set_current_team (a project id, as a number or a string).
// members is nil when the members API is absent (404).
func switchCurrent(r *http.Request, members *gatehouse.MemberService, a *httpauth.Caller, org *string, team *json.RawMessage) error {
	if org == nil && team == nil {
		return nil
	}
	var project *string
	if team != nil {
		var id json.Number
		var text string
		switch {
		case json.Unmarshal(*team, &id) == nil:
			s := id.String()
			project = &s
		case json.Unmarshal(*team, &text) == nil:
			project = &text
		default:
			return gatehouse.Invalid("incorrect_type", "set_current_team", "Incorrect type. Expected pk value.")
		}
	}
	if members == nil {
		return gatehouse.NotFound()
	}
	return members.SwitchCurrent(r.Context(), a.User, org, project)
}
