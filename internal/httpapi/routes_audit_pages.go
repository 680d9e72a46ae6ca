package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

func addAuditPageRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET /settings/audit_log", web.HandleAuditPage(d, true))
	mux.Handle("GET /settings/security", web.HandleAuditPage(d, false))
}
