package web

import (
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/secretkey"
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

// SAMLLogin serves SAML single sign-on: the AuthnRequest, the ACS and
// the service provider's metadata.
type SAMLLogin struct {
	Auth *httpauth.Auth // sign-in cookies, emails
	// SAML is the service provider; nil: SAML is unavailable.
	SAML *saml.Service
	// SSO runs the pipeline; nil: SAML is unavailable.
	SSO *gatehouse.SSOService
	// Keys seal the confirm-creation cookie.
	Keys *secretkey.Keyring
}

// Flow serves one step of the round trip (Begin, Complete): a failure it
// returns is logged and sends the browser back to the login page with its
// code (failSSO); another error is written by httpauth.WriteError.
func (h *SAMLLogin) Flow(step httpauth.Handler) httpauth.Handler {
	// Every SAML failure names its provider, "saml": no registry is needed.
	return ssoFlow(nil, step)
}

func (h *SAMLLogin) available() bool { return h.SAML != nil && h.SSO != nil }

// errSAMLUnavailable is the failure of a SAML login on an instance without it.
func errSAMLUnavailable() *ssoFailure {
	return &ssoFailure{Provider: "saml", Code: "improperly_configured_sso", Reason: "SAML is not available on this instance"}
}

// Begin sends the browser to the identity provider of the ?email='s
// domain with an AuthnRequest.
func (h *SAMLLogin) Begin(w http.ResponseWriter, r *http.Request) error {
	if !h.available() {
		return errSAMLUnavailable()
	}
	redirect, pending, err := h.SAML.Begin(r.Context(), r.URL.Query().Get("email"))
	if err != nil {
		return ssoFailureOf("saml", err)
	}
	samlCookies.Set(w, SAMLRequestCookie, pending, samlRequestCookieOptions)
	http.Redirect(w, r, redirect, http.StatusFound)
	return nil
}

// Complete is the ACS. It takes the HTTP-POST binding (and, for IdPs that
// use it, SAMLResponse in the query of the redirect binding). There is no
// CSRF token: the IdP's signature, the audience and the pending-request
// cookie are what tie the response to this browser.
func (h *SAMLLogin) Complete(w http.ResponseWriter, r *http.Request) error {
	if !h.available() {
		return errSAMLUnavailable()
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
			return &ssoFailure{Provider: "saml", Code: "saml_invalid_response", Reason: "the posted form could not be read", Err: err}
		}
		values = r.PostForm
	}
	id, err := h.SAML.Complete(r.Context(), values.Get("RelayState"), values.Get("SAMLResponse"), pending)
	httpauth.CountLogin("saml", err)
	if err != nil {
		return ssoFailureOf("saml", err)
	}
	s := ssoSignIn{auth: h.Auth, sso: h.SSO, keys: h.Keys}
	return s.complete(w, r, gatehouse.SSOIdentity{Backend: "saml", UID: id.UID, Email: id.Email, EmailVerified: true,
		FirstName: id.FirstName, LastName: id.LastName, FullName: id.FullName, DomainID: id.DomainID},
		gatehouse.SSOLogin{ClientIP: httpauth.ClientIP(r), UserAgent: r.UserAgent(), PreviousSessionKey: httpauth.PreviousSessionKey(r)}, "/")
}

// Metadata serves the SP metadata to organization admins
// (docs/posthog-compat.md#saml); the per-domain variant checks the admin
// holds that domain.
func (h *SAMLLogin) Metadata(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if h.SAML == nil {
		return gatehouse.NotFound()
	}
	orgRef := gatehouse.CurrentOrganization
	if id := r.PathValue("domain"); id != "" {
		dom, err := h.SAML.Admin.Domains.Store.DomainByID(r.Context(), id)
		if err != nil {
			return gatehouse.NotFound()
		}
		orgRef = dom.OrganizationID
	}
	if _, err := h.SAML.Admin.RequireAdmin(r.Context(), a.User, orgRef); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(h.SAML.Metadata())
	return nil
}
