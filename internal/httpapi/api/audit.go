package api

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Audit serves the audit log: an organization's for its admins, and each
// user's own account events.
type Audit struct {
	Auth  *httpauth.Auth
	Audit *gatehouse.AuditService
}

// OrganizationLog answers GET /api/organizations/{org}/audit_log: one page
// of the organization's audit events.
func (h *Audit) OrganizationLog(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	f, err := httpauth.AuditFilter(r)
	if err != nil {
		return err
	}
	events, count, err := h.Audit.OrganizationLog(r.Context(), a.User, r.PathValue("org"), f)
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, httpauth.AuditPage(r, *h.Auth, f, events, count))
	return nil
}

// AccountLog answers GET /api/users/@me/audit_log: one page of the
// caller's own account events.
func (h *Audit) AccountLog(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	f, err := httpauth.AuditFilter(r)
	if err != nil {
		return err
	}
	events, count, err := h.Audit.AccountLog(r.Context(), a.User, f)
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, httpauth.AuditPage(r, *h.Auth, f, events, count))
	return nil
}
