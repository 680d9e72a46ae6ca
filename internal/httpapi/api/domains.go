package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

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

func HandleListDomains(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		list, err := d.Domains.List(r.Context(), a.User, r.PathValue("org"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for i := range list {
			out = append(out, domainJSON(&list[i]))
		}
		paginated(w, r, d, out)
	})
}

func HandleGetDomain(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		dom, err := d.Domains.Get(r.Context(), a.User, r.PathValue("org"), r.PathValue("id"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, domainJSON(dom))
	})
}

func HandleCreateDomain(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		var in struct {
			Domain string `json:"domain"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		dom, err := d.Domains.Create(r.Context(), a.User, r.PathValue("org"), in.Domain)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusCreated, domainJSON(dom))
	})
}

func HandleUpdateDomain(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		var in struct {
			JITProvisioningEnabled *bool   `json:"jit_provisioning_enabled"`
			SSOEnforcement         *string `json:"sso_enforcement"`
			SAMLEntityID           *string `json:"saml_entity_id"`
			SAMLACSURL             *string `json:"saml_acs_url"`
			SAMLX509Cert           *string `json:"saml_x509_cert"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		dom, err := d.Domains.Update(r.Context(), a.User, r.PathValue("org"), r.PathValue("id"), gatehouse.DomainUpdate{
			JITProvisioningEnabled: in.JITProvisioningEnabled, SSOEnforcement: in.SSOEnforcement,
			SAMLEntityID: in.SAMLEntityID, SAMLACSURL: in.SAMLACSURL, SAMLX509Cert: in.SAMLX509Cert})
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, domainJSON(dom))
	})
}

func HandleDeleteDomain(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if err := d.Domains.Delete(r.Context(), a.User, r.PathValue("org"), r.PathValue("id")); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func HandleVerifyDomain(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		dom, err := d.Domains.Verify(r.Context(), a.User, r.PathValue("org"), r.PathValue("id"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, domainJSON(dom))
	})
}
