package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Domains serves the organization domain API
// (/api/organizations/{org}/domains): members read, admins write and
// verify.
type Domains struct {
	Auth    *httpauth.Auth
	Domains *gatehouse.DomainService
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

// List answers GET /api/organizations/{org}/domains: the organization's
// domains, one page of them.
func (h *Domains) List(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	list, err := h.Domains.List(r.Context(), c.User, r.PathValue("org"))
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for i := range list {
		out = append(out, domainJSON(&list[i]))
	}
	paginated(w, r, *h.Auth, out)
	return nil
}

// Get answers GET /api/organizations/{org}/domains/{id}.
func (h *Domains) Get(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	dom, err := h.Domains.Get(r.Context(), c.User, r.PathValue("org"), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, domainJSON(dom))
	return nil
}

// Create answers POST /api/organizations/{org}/domains: a new, unverified
// domain.
func (h *Domains) Create(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	var in struct {
		Domain string `json:"domain"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	dom, err := h.Domains.Create(r.Context(), c.User, r.PathValue("org"), in.Domain)
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusCreated, domainJSON(dom))
	return nil
}

// Update answers PATCH /api/organizations/{org}/domains/{id}: just-in-time
// provisioning, SSO enforcement and the SAML settings.
func (h *Domains) Update(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	var in struct {
		JITProvisioningEnabled *bool   `json:"jit_provisioning_enabled"`
		SSOEnforcement         *string `json:"sso_enforcement"`
		SAMLEntityID           *string `json:"saml_entity_id"`
		SAMLACSURL             *string `json:"saml_acs_url"`
		SAMLX509Cert           *string `json:"saml_x509_cert"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	dom, err := h.Domains.Update(r.Context(), c.User, r.PathValue("org"), r.PathValue("id"), gatehouse.DomainUpdate{
		JITProvisioningEnabled: in.JITProvisioningEnabled, SSOEnforcement: in.SSOEnforcement,
		SAMLEntityID: in.SAMLEntityID, SAMLACSURL: in.SAMLACSURL, SAMLX509Cert: in.SAMLX509Cert})
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, domainJSON(dom))
	return nil
}

// Delete answers DELETE /api/organizations/{org}/domains/{id}.
func (h *Domains) Delete(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if err := h.Domains.Delete(r.Context(), c.User, r.PathValue("org"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Verify answers POST /api/organizations/{org}/domains/{id}/verify: it
// looks up the domain's DNS challenge.
func (h *Domains) Verify(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	dom, err := h.Domains.Verify(r.Context(), c.User, r.PathValue("org"), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, domainJSON(dom))
	return nil
}
