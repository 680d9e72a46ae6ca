package httpapi

import (
	"net/http"
)

func HandleOrganizationAuditLog(d Deps) http.Handler {
	return RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *Caller) {
		f, err := AuditFilter(r)
		if err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		events, count, err := d.Audit.OrganizationLog(r.Context(), a.User, r.PathValue("org"), f)
		if err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		WriteJSON(w, http.StatusOK, AuditPage(r, d, f, events, count))
	})
}

func HandleAccountAuditLog(d Deps) http.Handler {
	return RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *Caller) {
		f, err := AuditFilter(r)
		if err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		events, count, err := d.Audit.AccountLog(r.Context(), a.User, f)
		if err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		WriteJSON(w, http.StatusOK, AuditPage(r, d, f, events, count))
	})
}
