package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"
)

// SAML single sign-on (docs/posthog-compat.md#saml): /login/saml/?email= sends the browser
// to the domain's IdP with an AuthnRequest (HTTP-Redirect binding,
// RelayState = the domain id) and remembers the request's ID in a sealed
// cookie; the IdP posts its response to the ACS, /complete/saml/, which
// checks it for that domain and runs the SSO pipeline.

// SAMLRequestCookie carries the pending AuthnRequest. The IdP posts the
// response cross-site, so the cookie is SameSite=None (and therefore
// Secure), limited to the ACS path.
const SAMLRequestCookie = "gh_saml_request"

var samlRequestCookieOptions = cookies.Options{SameSite: http.SameSiteNoneMode, Path: strings.TrimSuffix(saml.ACSPath, "/"), MaxAge: saml.RequestTTL}

// samlCookies always marks the request cookie Secure: browsers drop
// SameSite=None cookies without it (localhost counts as secure).
var samlCookies = cookies.Policy{Secure: true}

func samlAvailable(d httpauth.Auth) bool { return d.SAML != nil && d.SSO != nil }

func HandleSAMLBegin(d httpauth.Auth) http.Handler {
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
		samlCookies.Set(w, SAMLRequestCookie, pending, samlRequestCookieOptions)
		http.Redirect(w, r, redirect, http.StatusFound)
	})
}

// handleSAMLComplete is the ACS. It takes the HTTP-POST binding (and, for
// IdPs that use it, SAMLResponse in the query of the redirect binding).
// There is no CSRF token: the IdP's signature, the audience and the
// pending-request cookie are what tie the response to this browser.
func HandleSAMLComplete(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !samlAvailable(d) {
			failSSO(w, r, d, ssoFailure{Provider: "saml", Code: "improperly_configured_sso", Reason: "SAML is not available on this instance"}, false)
			return
		}
		var pending string
		if c, err := r.Cookie(SAMLRequestCookie); err == nil {
			pending = c.Value
		}
		samlCookies.Clear(w, SAMLRequestCookie, samlRequestCookieOptions)
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
		httpauth.CountLogin("saml", err)
		if err != nil {
			failSSO(w, r, d, ssoFailureOf("saml", err), false)
			return
		}
		completeSSO(w, r, d, gatehouse.SSOIdentity{Backend: "saml", UID: id.UID, Email: id.Email, EmailVerified: true,
			FirstName: id.FirstName, LastName: id.LastName, FullName: id.FullName, DomainID: id.DomainID},
			gatehouse.SSOLogin{ClientIP: httpauth.ClientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: httpauth.PreviousSessionKey(r)}, "/")
	})
}

// handleSAMLMetadata serves the SP metadata to organization admins
// (docs/posthog-compat.md#saml); the per-domain variant checks the admin holds that domain.
func HandleSAMLMetadata(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if d.SAML == nil {
			httpauth.WriteError(w, r, gatehouse.NotFound())
			return
		}
		orgRef := gatehouse.CurrentOrganization
		if id := r.PathValue("domain"); id != "" {
			dom, err := d.SAML.Admin.Domains.Store.DomainByID(r.Context(), id)
			if err != nil {
				httpauth.WriteError(w, r, gatehouse.NotFound())
				return
			}
			orgRef = dom.OrganizationID
		}
		if _, err := d.SAML.Admin.RequireAdmin(r.Context(), a.User, orgRef); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(d.SAML.Metadata())
	})
}
