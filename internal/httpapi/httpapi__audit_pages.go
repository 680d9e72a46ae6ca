package httpapi

import "net/http"

func addAuditPageRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /settings/audit_log", HandleAuditPage(d, true))
	mux.Handle("GET /settings/security", HandleAuditPage(d, false))
}
