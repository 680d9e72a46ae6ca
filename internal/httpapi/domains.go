package httpapi

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// addDomainRoutes registers organization domains (docs/posthog-compat.md#organization-domains): members read,
// admins write and verify.
func addDomainRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /api/organizations/{org}/domains", handleListDomains(d))
	mux.Handle("POST /api/organizations/{org}/domains", handleCreateDomain(d))
	mux.Handle("GET /api/organizations/{org}/domains/{id}", handleGetDomain(d))
	mux.Handle("PATCH /api/organizations/{org}/domains/{id}", handleUpdateDomain(d))
	mux.Handle("DELETE /api/organizations/{org}/domains/{id}", handleDeleteDomain(d))
	mux.Handle("POST /api/organizations/{org}/domains/{id}/verify", handleVerifyDomain(d))
}

func domainJSON(dom *gatehouse.OrganizationDomain) map[string]any {
	var verifiedAt any
	if dom.VerifiedAt != nil {
		verifiedAt = dom.VerifiedAt.Format(time.RFC3339Nano)
	}
	return map[string]any{
		"id": dom.ID, "domain": dom.Domain, "is_verified": dom.IsVerified(), "verified_at": verifiedAt,
		"verification_challenge": dom.VerificationChallenge, "jit_provisioning_enabled": dom.JITProvisioningEnabled,
		"sso_enforcement": dom.SSOEnforcement, "has_saml": dom.HasSAML(), "saml_entity_id": dom.SAMLEntityID,
		"saml_acs_url": dom.SAMLACSURL, "saml_x509_cert": dom.SAMLX509Cert,
	}
}

func handleListDomains(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		list, err := d.Domains.List(r.Context(), a.user, r.PathValue("org"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for i := range list {
			out = append(out, domainJSON(&list[i]))
		}
		paginated(w, r, d, out)
	})
}

func handleGetDomain(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		dom, err := d.Domains.Get(r.Context(), a.user, r.PathValue("org"), r.PathValue("id"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, domainJSON(dom))
	})
}

func handleCreateDomain(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		var in struct {
			Domain string `json:"domain"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		dom, err := d.Domains.Create(r.Context(), a.user, r.PathValue("org"), in.Domain)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusCreated, domainJSON(dom))
	})
}

func handleUpdateDomain(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		var in struct {
			JITProvisioningEnabled *bool   `json:"jit_provisioning_enabled"`
			SSOEnforcement         *string `json:"sso_enforcement"`
			SAMLEntityID           *string `json:"saml_entity_id"`
			SAMLACSURL             *string `json:"saml_acs_url"`
			SAMLX509Cert           *string `json:"saml_x509_cert"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		dom, err := d.Domains.Update(r.Context(), a.user, r.PathValue("org"), r.PathValue("id"), gatehouse.DomainUpdate{
			JITProvisioningEnabled: in.JITProvisioningEnabled, SSOEnforcement: in.SSOEnforcement,
			SAMLEntityID: in.SAMLEntityID, SAMLACSURL: in.SAMLACSURL, SAMLX509Cert: in.SAMLX509Cert})
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, domainJSON(dom))
	})
}

func handleDeleteDomain(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if err := d.Domains.Delete(r.Context(), a.user, r.PathValue("org"), r.PathValue("id")); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func handleVerifyDomain(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		dom, err := d.Domains.Verify(r.Context(), a.user, r.PathValue("org"), r.PathValue("id"))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, domainJSON(dom))
	})
}
