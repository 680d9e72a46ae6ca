package api

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

func HandleOrganizationAuditLog(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		f, err := httpauth.AuditFilter(r)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		events, count, err := d.Audit.OrganizationLog(r.Context(), a.User, r.PathValue("org"), f)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, httpauth.AuditPage(r, d, f, events, count))
	})
}

func HandleAccountAuditLog(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		f, err := httpauth.AuditFilter(r)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		events, count, err := d.Audit.AccountLog(r.Context(), a.User, f)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, httpauth.AuditPage(r, d, f, events, count))
	})
}
