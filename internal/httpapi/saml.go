package httpapi

import (
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"
)

// SAML single sign-on (docs/posthog-compat.md#saml): /login/saml/?email= sends the browser
// to the domain's IdP with an AuthnRequest (HTTP-Redirect binding,
// RelayState = the domain id) and remembers the request's ID in a sealed
// cookie; the IdP posts its response to the ACS, /complete/saml/, which
// checks it for that domain and runs the SSO pipeline.

// samlRequestCookie carries the pending AuthnRequest. The IdP posts the
// response cross-site, so the cookie is SameSite=None (and therefore
// Secure), limited to the ACS path.
const samlRequestCookie = "gh_saml_request"

var samlRequestCookieOptions = cookies.Options{SameSite: http.SameSiteNoneMode, Path: strings.TrimSuffix(saml.ACSPath, "/"), MaxAge: saml.RequestTTL}

// samlCookies always marks the request cookie Secure: browsers drop
// SameSite=None cookies without it (localhost counts as secure).
var samlCookies = cookies.Policy{Secure: true}

func addSAMLRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /login/saml", handleSAMLBegin(d))
	mux.Handle("POST /complete/saml", handleSAMLComplete(d))
	mux.Handle("GET /complete/saml", handleSAMLComplete(d))
	mux.Handle("GET /api/saml/metadata", handleSAMLMetadata(d))
	mux.Handle("GET /api/saml/metadata/{domain}", handleSAMLMetadata(d))
	mux.Handle("POST /api/organizations/{org}/domains/{id}/saml_metadata", handleSAMLMetadataUpload(d))
	mux.Handle("GET /api/organizations/{org}/domains/{id}/saml", handleSAMLOptions(d))
	mux.Handle("PATCH /api/organizations/{org}/domains/{id}/saml", handleSAMLOptions(d))
	addSAMLPageRoutes(mux, d)
}

func samlAvailable(d Deps) bool { return d.SAML != nil && d.SSO != nil }

func handleSAMLBegin(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !samlAvailable(d) {
			failSSO(w, r, d, ssoFailure{Provider: "saml", Code: "improperly_configured_sso", Reason: "SAML is not available on this instance"}, false)
			return
		}
		redirect, pending, err := d.SAML.Begin(r.Context(), r.URL.Query().Get("email"))
		if err != nil {
			failSSO(w, r, d, ssoFailureOf("saml", err), false)
			return
		}
		samlCookies.Set(w, samlRequestCookie, pending, samlRequestCookieOptions)
		http.Redirect(w, r, redirect, http.StatusFound)
	})
}

// handleSAMLComplete is the ACS. It takes the HTTP-POST binding (and, for
// IdPs that use it, SAMLResponse in the query of the redirect binding).
// There is no CSRF token: the IdP's signature, the audience and the
// pending-request cookie are what tie the response to this browser.
func handleSAMLComplete(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !samlAvailable(d) {
			failSSO(w, r, d, ssoFailure{Provider: "saml", Code: "improperly_configured_sso", Reason: "SAML is not available on this instance"}, false)
			return
		}
		var pending string
		if c, err := r.Cookie(samlRequestCookie); err == nil {
			pending = c.Value
		}
		samlCookies.Clear(w, samlRequestCookie, samlRequestCookieOptions)
		values := r.URL.Query()
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, saml.MaxEncodedResponse+8<<10)
			if err := r.ParseForm(); err != nil {
				failSSO(w, r, d, ssoFailure{Provider: "saml", Code: "saml_invalid_response", Reason: "the posted form could not be read", Err: err}, false)
				return
			}
			values = r.PostForm
		}
		id, err := d.SAML.Complete(r.Context(), values.Get("RelayState"), values.Get("SAMLResponse"), pending)
		countLogin("saml", err)
		if err != nil {
			failSSO(w, r, d, ssoFailureOf("saml", err), false)
			return
		}
		completeSSO(w, r, d, gatehouse.SSOIdentity{Backend: "saml", UID: id.UID, Email: id.Email, EmailVerified: true,
			FirstName: id.FirstName, LastName: id.LastName, FullName: id.FullName, DomainID: id.DomainID},
			gatehouse.SSOLogin{ClientIP: clientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: previousSessionKey(r)}, "/")
	})
}

// handleSAMLMetadata serves the SP metadata to organization admins
// (docs/posthog-compat.md#saml); the per-domain variant checks the admin holds that domain.
func handleSAMLMetadata(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if d.SAML == nil {
			writeError(w, r, d.Logger, gatehouse.NotFound())
			return
		}
		orgRef := gatehouse.CurrentOrganization
		if id := r.PathValue("domain"); id != "" {
			dom, err := d.SAML.Admin.Domains.Store.DomainByID(r.Context(), id)
			if err != nil {
				writeError(w, r, d.Logger, gatehouse.NotFound())
				return
			}
			orgRef = dom.OrganizationID
		}
		if _, err := d.SAML.Admin.RequireAdmin(r.Context(), a.user, orgRef); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(d.SAML.Metadata())
	})
}

// handleSAMLMetadataUpload configures a domain's IdP from its metadata
// XML: the raw document (text/xml, application/xml,
// application/samlmetadata+xml) or JSON {"metadata": "<xml>"}.
func handleSAMLMetadataUpload(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if d.SAML == nil {
			writeError(w, r, d.Logger, gatehouse.NotFound())
			return
		}
		if _, err := d.SAML.Admin.RequireAdmin(r.Context(), a.user, r.PathValue("org")); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, saml.MaxMetadata+1))
		if err != nil || len(body) > saml.MaxMetadata {
			writeError(w, r, d.Logger, &gatehouse.Error{Kind: gatehouse.KindTooLarge, Code: "too_large", Detail: "The metadata is too large."})
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
			var in struct {
				Metadata string `json:"metadata"`
			}
			if err := json.Unmarshal(body, &in); err != nil {
				writeError(w, r, d.Logger, &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "JSON parse error."})
				return
			}
			body = []byte(in.Metadata)
		}
		dom, err := d.SAML.ConfigureFromMetadata(r.Context(), a.user, r.PathValue("org"), r.PathValue("id"), body)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "saml idp configured", slog.String("domain", dom.Domain), slog.String("user", a.user.UUID))
		writeJSON(w, http.StatusOK, domainJSON(dom))
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
func handleSAMLOptions(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if d.SAML == nil {
			writeError(w, r, d.Logger, gatehouse.NotFound())
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
			if err := decodeJSON(w, r, &in); err != nil {
				writeError(w, r, d.Logger, err)
				return
			}
			o, err = d.SAML.Admin.UpdateOptions(r.Context(), a.user, r.PathValue("org"), r.PathValue("id"),
				gatehouse.SAMLOptionsUpdate{AllowIdPInitiated: in.AllowIdPInitiated, AttributeMapping: in.AttributeMapping})
		} else {
			o, err = d.SAML.Admin.Options(r.Context(), a.user, r.PathValue("org"), r.PathValue("id"))
		}
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		writeJSON(w, http.StatusOK, samlOptionsJSON(o))
	})
}
