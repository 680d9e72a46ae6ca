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

// handleSAMLMetadataUpload configures a domain's IdP from its metadata
// XML: the raw document (text/xml, application/xml,
// application/samlmetadata+xml) or JSON {"metadata": "<xml>"}.
func HandleSAMLMetadataUpload(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if d.SAML == nil {
			httpauth.WriteError(w, r, gatehouse.NotFound())
			return
		}
		if _, err := d.SAML.Admin.RequireAdmin(r.Context(), a.User, r.PathValue("org")); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, saml.MaxMetadata+1))
		if err != nil || len(body) > saml.MaxMetadata {
			httpauth.WriteError(w, r, &gatehouse.Error{Kind: gatehouse.KindTooLarge, Code: "too_large", Detail: "The metadata is too large."})
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
			var in struct {
				Metadata string `json:"metadata"`
			}
			if err := json.Unmarshal(body, &in); err != nil {
				httpauth.WriteError(w, r, &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "JSON parse error."})
				return
			}
			body = []byte(in.Metadata)
		}
		dom, err := d.SAML.ConfigureFromMetadata(r.Context(), a.User, r.PathValue("org"), r.PathValue("id"), body)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "saml idp configured", slog.String("domain", dom.Domain), slog.String("user", a.User.UUID))
		httpauth.WriteJSON(w, http.StatusOK, domainJSON(dom))
	})
}

func samlOptionsJSON(o *gatehouse.SAMLOptions) map[string]any {
	m := map[string][]string{}
	for k, v := range o.AttributeMapping {
		m[k] = v
	}
	return map[string]any{"allow_idp_initiated": o.AllowIdPInitiated, "attribute_mapping": m, "default_attribute_mapping": gatehouse.DefaultSAMLAttributes}
}

// handleSAMLOptions reads (members) or changes (admins) a domain's SAML
// options: IdP-initiated logins and attribute-name overrides.
func HandleSAMLOptions(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if d.SAML == nil {
			httpauth.WriteError(w, r, gatehouse.NotFound())
			return
		}
		var (
			o   *gatehouse.SAMLOptions
			err error
		)
		if r.Method == http.MethodPatch {
			var in struct {
				AllowIdPInitiated *bool               `json:"allow_idp_initiated"`
				AttributeMapping  map[string][]string `json:"attribute_mapping"`
			}
			if err := httpauth.DecodeJSON(w, r, &in); err != nil {
				httpauth.WriteError(w, r, err)
				return
			}
			o, err = d.SAML.Admin.UpdateOptions(r.Context(), a.User, r.PathValue("org"), r.PathValue("id"),
				gatehouse.SAMLOptionsUpdate{AllowIdPInitiated: in.AllowIdPInitiated, AttributeMapping: in.AttributeMapping})
		} else {
			o, err = d.SAML.Admin.Options(r.Context(), a.User, r.PathValue("org"), r.PathValue("id"))
		}
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, samlOptionsJSON(o))
	})
}
