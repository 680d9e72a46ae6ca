package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addAuditRoutes registers the audit log: an organization's for its
// admins, and each user's own account events. Personal API keys need the
// audit_log:read scope.
func addAuditRoutes(mux *http.ServeMux, d httpauth.Auth) {
	if d.Audit == nil {
		return
	}
	auth := &d
	audit := &api.Audit{Auth: auth, Audit: d.Audit}
	mux.Handle("GET /api/organizations/{org}/audit_log", httpauth.Scoped("audit_log", auth.User(audit.OrganizationLog)))
	mux.Handle("GET /api/users/@me/audit_log", httpauth.ScopedRoute(httpauth.KeyRoute{Object: "audit_log"}, auth.User(audit.AccountLog)))
	addAuditPageRoutes(mux, d)
}
