package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

func addAuditPageRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	audit := &web.AuditPages{Accounts: d.Accounts, Audit: d.Audit}
	mux.Handle("GET /settings/audit_log", auth.Session(web.Handler(audit.OrganizationLog).Serve))
	mux.Handle("GET /settings/security", auth.Session(web.Handler(audit.AccountLog).Serve))
}
