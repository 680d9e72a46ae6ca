package api

import (
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"
)

// SAML serves the SAML admin API of organization domains
// (/api/organizations/{org}/domains/{id}/saml…). Without a SAML service
// its endpoints are not found.
type SAML struct {
	SAML *saml.Service
}

// UploadMetadata answers POST …/domains/{id}/saml_metadata: it configures
// the domain's IdP from its metadata XML, the raw document (text/xml,
// application/xml, application/samlmetadata+xml) or JSON
// {"metadata": "<xml>"} (admins only).
func (h *SAML) UploadMetadata(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if h.SAML == nil {
		return gatehouse.NotFound()
	}
	if _, err := h.SAML.Admin.RequireAdmin(r.Context(), c.User, r.PathValue("org")); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, saml.MaxMetadata+1))
	if err != nil || len(body) > saml.MaxMetadata {
		return &gatehouse.Error{Kind: gatehouse.KindTooLarge, Code: "too_large", Detail: "The metadata is too large."}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		var in struct {
			Metadata string `json:"metadata"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			return &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "JSON parse error."}
		}
		body = []byte(in.Metadata)
	}
	dom, err := h.SAML.ConfigureFromMetadata(r.Context(), c.User, r.PathValue("org"), r.PathValue("id"), body)
	if err != nil {
		return err
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "saml idp configured", slog.String("domain", dom.Domain), slog.String("user", c.User.UUID))
	httpauth.WriteJSON(w, http.StatusOK, domainJSON(dom))
	return nil
}

func samlOptionsJSON(o *gatehouse.SAMLOptions) map[string]any {
	m := map[string][]string{}
	for k, v := range o.AttributeMapping {
		m[k] = v
	}
	return map[string]any{"allow_idp_initiated": o.AllowIdPInitiated, "attribute_mapping": m, "default_attribute_mapping": gatehouse.DefaultSAMLAttributes}
}

// Options answers GET …/domains/{id}/saml: the domain's SAML options,
// IdP-initiated logins and attribute-name overrides (members).
func (h *SAML) Options(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if h.SAML == nil {
		return gatehouse.NotFound()
	}
	o, err := h.SAML.Admin.Options(r.Context(), c.User, r.PathValue("org"), r.PathValue("id"))
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, samlOptionsJSON(o))
	return nil
}

// UpdateOptions answers PATCH …/domains/{id}/saml: it changes the
// domain's SAML options (admins).
func (h *SAML) UpdateOptions(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if h.SAML == nil {
		return gatehouse.NotFound()
	}
	var in struct {
		AllowIdPInitiated *bool               `json:"allow_idp_initiated"`
		AttributeMapping  map[string][]string `json:"attribute_mapping"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	o, err := h.SAML.Admin.UpdateOptions(r.Context(), c.User, r.PathValue("org"), r.PathValue("id"),
		gatehouse.SAMLOptionsUpdate{AllowIdPInitiated: in.AllowIdPInitiated, AttributeMapping: in.AttributeMapping})
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, samlOptionsJSON(o))
	return nil
}
