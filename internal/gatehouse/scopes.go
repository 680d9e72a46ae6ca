package gatehouse

import (
	"strconv"
	"strings"
)

// scopeObjects are the objects a scope may name (PostHog's scopes.py,
// mid-2025 list and the newest additions).
var scopeObjects = map[string]bool{}

func init() {
	for _, o := range strings.Fields(`action access_control activity_log annotation batch_export batch_import cohort
		dashboard dashboard_template early_access_feature error_tracking event_definition experiment export
		feature_flag file_system file_system_shortcut group hog_function insight link notebook organization
		organization_member person persisted_folder plugin project property_definition query session_recording
		session_recording_playlist sharing_configuration subscription survey user user_interview_DO_NOT_USE
		webhook warehouse_view warehouse_table logs
		account alert approvals business_knowledge comment conversation customer_analytics customer_journey
		customer_profile_config event_filter dataset deployment desktop_recording endpoint evaluation element
		experiment_saved_metric external_data_schema external_data_source health_issue heatmap hog_flow
		insight_variable integration legal_document live_debugger llm_analytics llm_gateway llm_prompt
		llm_provider_key llm_skill organization_integration product_tour replay_scanner revenue_analytics
		streamlit_app tagger ticket task tracing uploaded_media usage_metric user_interview visual_review
		warehouse_objects web_analytics`) {
		scopeObjects[o] = true
	}
}

// ValidScopeObject reports whether object may appear in a scope.
func ValidScopeObject(object string) bool { return scopeObjects[object] }

// ValidateScopes checks each scope ("*" or "<object>:read|write") and
// returns them without duplicates, in order.
func ValidateScopes(scopes []string) ([]string, error) {
	out := make([]string, 0, len(scopes))
	seen := map[string]bool{}
	for _, sc := range scopes {
		if sc != "*" {
			obj, action, ok := strings.Cut(sc, ":")
			if !ok || strings.Contains(action, ":") || !scopeObjects[obj] || (action != "read" && action != "write") {
				return nil, Invalid("invalid_input", "scopes", "Invalid scope: %s", sc)
			}
		}
		if !seen[sc] {
			seen[sc] = true
			out = append(out, sc)
		}
	}
	return out, nil
}

// ScopeAction is "read" for safe methods and "write" for the rest, as
// PostHog derives the required scope from a view's action.
func ScopeAction(method string) string {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return "read"
	}
	return "write"
}

// KeyRequest describes what a key-authenticated request asks for, for
// CheckKeyAccess.
type KeyRequest struct {
	// Object is the route's scope object; "" means the route does not
	// accept personal API keys.
	Object string
	Action string // "read" or "write"
	// Organization is the organization the route works on, nil when it has
	// none; Level is the user's membership level in it.
	Organization *Organization
	Level        MembershipLevel
	// ProjectID is the project the route works on, 0 when it has none.
	ProjectID int64
}

// ErrKeyNotSupported is the 403 of a route personal API keys cannot use.
func ErrKeyNotSupported() *Error {
	return keyDenied("This action does not support Personal API Key access")
}

func keyDenied(detail string) *Error {
	return &Error{Kind: KindPermissionDenied, Code: "permission_denied", Detail: detail}
}

// CheckKeyAccess applies PostHog's APIScopePermission to a request made
// with key: the route must accept keys; the organization must let members
// use keys (admins are exempt); scoped keys must name the route's project
// and organization; then the key's scopes must grant <object>:<action>
// (write implies read; "*" and a legacy empty list grant everything).
func CheckKeyAccess(key *PersonalAPIKey, req KeyRequest) error {
	if req.Object == "" {
		return ErrKeyNotSupported()
	}
	if org := req.Organization; org != nil && !org.MembersCanUsePersonalAPIKeys && req.Level < LevelAdmin {
		return keyDenied("Organization '" + org.Name + "' does not allow using personal API keys. Contact an admin to enable personal API keys for this organization.")
	}
	if req.Object != "user" {
		if len(key.ScopedTeams) > 0 {
			if req.ProjectID == 0 {
				return keyDenied("API keys with scoped projects are only supported on project-based endpoints.")
			}
			if !containsInt(key.ScopedTeams, req.ProjectID) {
				return keyDenied("API key does not have access to the requested project: ID " + strconv.FormatInt(req.ProjectID, 10) + ".")
			}
		}
		if len(key.ScopedOrganizations) > 0 && req.Organization != nil && !containsString(key.ScopedOrganizations, req.Organization.ID) {
			return keyDenied("API key does not have access to the requested organization: ID " + req.Organization.ID + ".")
		}
	}
	if len(key.Scopes) == 0 || containsString(key.Scopes, "*") {
		return nil
	}
	required := req.Object + ":" + req.Action
	if containsString(key.Scopes, required) || (req.Action == "read" && containsString(key.Scopes, req.Object+":write")) {
		return nil
	}
	return keyDenied("API key missing required scope '" + required + "'")
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func containsInt(list []int64, v int64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
