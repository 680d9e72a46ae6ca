package httpapi

import "net/http"

// addAuditRoutes registers the audit log: an organization's for its
// admins, and each user's own account events. Personal API keys need the
// audit_log:read scope.
func addAuditRoutes(mux *http.ServeMux, d Deps) {
	if d.Audit == nil {
		return
	}
	mux.Handle("GET /api/organizations/{org}/audit_log", Scoped("audit_log", HandleOrganizationAuditLog(d)))
	mux.Handle("GET /api/users/@me/audit_log", ScopedRoute(KeyRoute{Object: "audit_log"}, HandleAccountAuditLog(d)))
	addAuditPageRoutes(mux, d)
}
