package api

import (
	"crypto/sha1"
	"fmt"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// meParity holds the fields of PostHog's /api/users/@me that belong to
// features Gatehouse does not have (impersonation, onboarding,
// notifications, UI preferences), with the values PostHog gives a user
// who never used them, plus the identifiers Gatehouse does have.
type meParity struct {
	ID                              int64     `json:"id"`
	DistinctID                      string    `json:"distinct_id"`
	PendingEmail                    *string   `json:"pending_email"`
	HasSocialAuth                   bool      `json:"has_social_auth"`
	HasSSOEnforcement               bool      `json:"has_sso_enforcement"`
	NotificationSettings            struct{}  `json:"notification_settings"`
	IsImpersonated                  bool      `json:"is_impersonated"`
	IsImpersonatedUntil             *string   `json:"is_impersonated_until"`
	IsImpersonatedReadOnly          bool      `json:"is_impersonated_read_only"`
	IsImpersonatedReason            *string   `json:"is_impersonated_reason"`
	FreshReauthExpiresAt            *string   `json:"fresh_reauth_expires_at"`
	AnonymizeData                   bool      `json:"anonymize_data"`
	AllowImpersonation              bool      `json:"allow_impersonation"`
	ToolbarMode                     *string   `json:"toolbar_mode"`
	HasSeenProductIntroFor          *struct{} `json:"has_seen_product_intro_for"`
	ThemeMode                       *string   `json:"theme_mode"`
	HedgehogConfig                  *struct{} `json:"hedgehog_config"`
	RoleAtOrganization              *string   `json:"role_at_organization"`
	ScenePersonalisation            []any     `json:"scene_personalisation"`
	PendingInvites                  []any     `json:"pending_invites"`
	NotificationLocks               []any     `json:"notification_locks"`
	ActiveRealtimeNotificationTypes []any     `json:"active_realtime_notification_types"`
	RequiresCredentialReview        bool      `json:"requires_credential_review"`
	OnboardingSkippedAt             *string   `json:"onboarding_skipped_at"`
	IsOrganizationFirstUser         *bool     `json:"is_organization_first_user"`
}

// newMeParity fills meParity for u. PostHog's distinct_id is the id its
// own analytics know the user by; Gatehouse's is the user's UUID.
func newMeParity(u *gatehouse.User) meParity {
	p := meParity{ID: u.ID, DistinctID: u.UUID, ScenePersonalisation: []any{}, PendingInvites: []any{},
		NotificationLocks: []any{}, ActiveRealtimeNotificationTypes: []any{}}
	if u.PendingEmail != "" {
		p.PendingEmail = &u.PendingEmail
	}
	return p
}

// projectUUID is a project's uuid: PostHog gives every team a UUID;
// Gatehouse's projects have numeric IDs only, so this one is derived from
// the organization and the ID (a name-based, version 5 form), stable for
// the project's life.
func projectUUID(p *gatehouse.Project) string {
	sum := sha1.Sum([]byte("gatehouse-project:" + p.OrganizationID + ":" + fmt.Sprint(p.ID)))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// addProjectParity adds to a rendered project the fields of PostHog's
// team serializer that Gatehouse has no feature for, with their
// never-configured values.
func addProjectParity(out map[string]any, p *gatehouse.Project) {
	out["uuid"] = projectUUID(p)
	out["project_id"] = p.ID
	out["timezone"] = "UTC"
	out["app_urls"] = []string{}
	out["recording_domains"] = []string{}
	out["anonymize_ips"] = false
	out["is_demo"] = false
	out["access_control"] = false
	out["completed_snippet_onboarding"] = false
	out["data_attributes"] = []string{"data-attr"}
	out["test_account_filters"] = []any{}
	out["test_account_filters_default_checked"] = false
	out["autocapture_opt_out"] = false
	out["autocapture_exceptions_opt_in"] = false
	out["session_recording_opt_in"] = false
	out["capture_console_log_opt_in"] = false
	out["capture_performance_opt_in"] = false
	out["heatmaps_opt_in"] = false
	out["surveys_opt_in"] = false
	out["primary_dashboard"] = nil
	out["slack_incoming_webhook"] = nil
	out["week_start_day"] = nil
	out["person_display_name_properties"] = nil
}

// addOrganizationParity adds PostHog's organization fields: the slug, the
// organization's projects (as teams and projects), and the settings of
// features Gatehouse does not have at their defaults.
func addOrganizationParity(out map[string]any, org *gatehouse.Organization, projects []gatehouse.Project) {
	out["slug"] = organizationSlug(org)
	teams := make([]map[string]any, 0, len(projects))
	for i := range projects {
		p := &projects[i]
		teams = append(teams, map[string]any{"id": p.ID, "uuid": projectUUID(p), "organization": p.OrganizationID,
			"project_id": p.ID, "api_token": p.APIToken, "name": p.Name, "is_demo": false, "timezone": "UTC"})
	}
	out["teams"] = teams
	projs := make([]map[string]any, 0, len(projects))
	for i := range projects {
		projs = append(projs, map[string]any{"id": projects[i].ID, "name": projects[i].Name, "organization_id": projects[i].OrganizationID})
	}
	out["projects"] = projs
	out["members_can_invite"] = true
	out["is_member_join_email_enabled"] = true
	out["is_ai_data_processing_approved"] = nil
	out["plugins_access_level"] = 0
	out["available_product_features"] = []any{}
	out["customer_id"] = nil
	out["logo_media_id"] = nil
	out["metadata"] = map[string]any{}
	out["is_pending_deletion"] = false
	out["is_active"] = true
}

// organizationSlug is PostHog's slug form of the organization's name
// (lower case, runs of other characters as one "-"), made unique with the
// start of its ID.
func organizationSlug(org *gatehouse.Organization) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(org.Name) {
		if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.Trim(b.String(), "-")
	if len(slug) > 40 {
		slug = strings.Trim(slug[:40], "-")
	}
	id := strings.ReplaceAll(org.ID, "-", "")
	if len(id) > 8 {
		id = id[:8]
	}
	if slug == "" {
		return id
	}
	return slug + "-" + id
}

// addFlagParity adds the fields of PostHog's flag serializer that belong
// to features Gatehouse does not have (experiments, surveys, dashboards,
// tags, usage tracking), with their empty values.
func addFlagParity(out map[string]any, f *gatehouse.FeatureFlag) {
	status := "ACTIVE"
	if f.Deleted {
		status = "DELETED"
	}
	out["status"] = status
	out["last_modified_by"] = nil
	out["can_edit"] = true
	out["user_access_level"] = "editor"
	out["evaluation_tags"] = []string{}
	out["experiment_set"] = []any{}
	out["surveys"] = []any{}
	out["features"] = []any{}
	out["analytics_dashboards"] = []any{}
	out["usage_dashboard"] = nil
	out["has_enriched_analytics"] = false
	out["rollback_conditions"] = []any{}
	out["performed_rollback"] = false
	out["creation_context"] = "feature_flags"
	out["is_used_in_replay_settings"] = false
	out["last_called_at"] = nil
}
