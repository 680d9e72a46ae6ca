package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/sso/saml"
)

// The domains page (issue 8 point 7): an organization's domains with
// their DNS verification record and status, the sign-in policy (JIT and
// enforcement) and the SAML identity provider (metadata upload or the
// three fields, IdP-initiated logins, attribute names). Members see it;
// admins change it. The forms post through withSession, which checks
// their CSRF token.

func init() {
	pageTemplates["domains"] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/domains.html"))
	// The login page's words for the SAML error codes.
	for code, msg := range map[string]string{
		"missing_email":         "Enter your email address to sign in with SAML.",
		"saml_not_configured":   "SAML not configured for this user.",
		"invalid_relay_state":   "Authentication request is invalid. Invalid RelayState: your identity provider did not say which organization the sign-in is for. Ask your administrator to set the RelayState.",
		"saml_invalid_response": "The response from your identity provider could not be accepted: ask your administrator (the reason is in Gatehouse's log).",
		"saml_idp_initiated":    "Logins started at your identity provider are not allowed for this domain. Sign in here instead.",
		"saml_email_domain":     "Your identity provider asserted an email address outside your organization's verified domains: ask your administrator.",
	} {
		socialLoginErrors[code] = msg
	}
}

// domainsPage is what domains.html sees; Notice and Error feed the layout.
type domainsPage struct {
	CSRFToken, Notice, Error string
	// Done names the form just saved (a marker for tests and scripts).
	Done             string
	Organization     string
	IsAdmin          bool
	NewDomain        string
	EntityID, ACSURL string
	Backends         []string
	Domains          []domainView
}

type domainView struct {
	ID, Domain, RecordName, Challenge, LastRetry string
	Verified, JIT, HasSAML, AllowIdPInitiated    bool
	Enforcement, EntityIDValue, SSOURL, Cert     string
	Mapping                                      []mappingView
}

type mappingView struct{ DomainID, Field, Names, Defaults string }

var domainNotices = map[string]string{
	"add": "Domain added. Publish the DNS record below, then verify it.", "verify": "Verification checked.",
	"policy": "Sign-in policy saved.", "saml": "SAML settings saved.", "delete": "Domain removed.",
}

func HandleDomainsPage(d httpauth.Auth) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := httpauth.CallerFrom(r.Context())
		if a == nil || a.Session == nil {
			http.Redirect(w, r, "/login?next=/settings/domains", http.StatusFound)
			return
		}
		done := r.URL.Query().Get("done")
		page := domainsPage{Notice: domainNotices[done]}
		if page.Notice != "" {
			page.Done = done
		}
		renderDomains(w, r, d, a, http.StatusOK, page)
	}))
}

func renderDomains(w http.ResponseWriter, r *http.Request, d httpauth.Auth, a *httpauth.Caller, status int, page domainsPage) {
	page.CSRFToken = httpauth.EnsureCSRFCookie(w, r, d, a.SessionKey, time.Until(a.Session.ExpiresAt).Round(time.Second))
	page.Backends = gatehouse.KnownSSOBackends
	if d.SAML != nil {
		page.EntityID, page.ACSURL = d.SAML.EntityID(), d.SAML.ACSURL()
	}
	if d.SAML != nil {
		if org, err := d.SAML.Admin.RequireAdmin(r.Context(), a.User, gatehouse.CurrentOrganization); err == nil {
			page.IsAdmin, page.Organization = true, org.Name
		}
	}
	if p, err := d.Accounts.Profile(r.Context(), a.User); err == nil && p.Organization != nil {
		page.Organization = p.Organization.Name
	}
	list, err := d.Domains.List(r.Context(), a.User, gatehouse.CurrentOrganization)
	if err != nil {
		status, _, page.Error = pageError(w, r, err)
	}
	for _, dom := range list {
		v := domainView{ID: dom.ID, Domain: dom.Domain, RecordName: gatehouse.DomainChallengeRecord(dom.Domain), Challenge: dom.VerificationChallenge,
			Verified: dom.IsVerified(), JIT: dom.JITProvisioningEnabled, HasSAML: dom.HasSAML(), Enforcement: dom.SSOEnforcement,
			EntityIDValue: dom.SAMLEntityID, SSOURL: dom.SAMLACSURL, Cert: dom.SAMLX509Cert}
		if dom.LastVerificationRetry != nil {
			v.LastRetry = dom.LastVerificationRetry.UTC().Format("2006-01-02 15:04 UTC")
		}
		var opts *gatehouse.SAMLOptions
		if d.SAML != nil {
			opts, _ = d.SAML.Store.SAMLOptions(r.Context(), dom.ID)
		}
		if opts == nil {
			opts = &gatehouse.SAMLOptions{}
		}
		v.AllowIdPInitiated = opts.AllowIdPInitiated
		for _, f := range gatehouse.SAMLAttributeFields {
			v.Mapping = append(v.Mapping, mappingView{DomainID: dom.ID, Field: f, Names: strings.Join(opts.AttributeMapping[f], ", "),
				Defaults: strings.Join(gatehouse.DefaultSAMLAttributes[f], ", ")})
		}
		page.Domains = append(page.Domains, v)
	}
	renderPage(w, r, status, "domains", page)
}

// handleDomainsForm applies one of the domains page's forms and returns
// to the page, or shows it again with the error.
func HandleDomainsForm(d httpauth.Auth, form string) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := httpauth.CallerFrom(r.Context())
		if a == nil || a.Session == nil {
			http.Redirect(w, r, "/login?next=/settings/domains", http.StatusSeeOther)
			return
		}
		if err := httpauth.ParseFormBody(w, r); err != nil {
			httpauth.WriteText(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
		ctx, org, id, f := r.Context(), gatehouse.CurrentOrganization, r.PathValue("id"), r.PostForm
		var err error
		switch form {
		case "add":
			_, err = d.Domains.Create(ctx, a.User, org, f.Get("domain"))
		case "verify":
			_, err = d.Domains.Verify(ctx, a.User, org, id)
		case "policy":
			jit, enforcement := f.Get("jit_provisioning_enabled") == "on", f.Get("sso_enforcement")
			_, err = d.Domains.Update(ctx, a.User, org, id, gatehouse.DomainUpdate{JITProvisioningEnabled: &jit, SSOEnforcement: &enforcement})
		case "saml":
			err = saveSAMLForm(r, d, a, id)
		case "delete":
			err = d.Domains.Delete(ctx, a.User, org, id)
		}
		if err != nil {
			page := domainsPage{}
			if form == "add" {
				page.NewDomain = f.Get("domain")
			}
			status, _, msg := pageError(w, r, err)
			page.Error = msg
			renderDomains(w, r, d, a, status, page)
			return
		}
		http.Redirect(w, r, "/settings/domains?"+url.Values{"done": {form}}.Encode(), http.StatusSeeOther)
	}))
}

// saveSAMLForm stores the SAML form: the IdP from pasted metadata when
// given, else from the three fields; then the options.
func saveSAMLForm(r *http.Request, d httpauth.Auth, a *httpauth.Caller, id string) error {
	if d.SAML == nil {
		return gatehouse.NotFound()
	}
	ctx, f := r.Context(), r.PostForm
	if md := strings.TrimSpace(f.Get("metadata")); md != "" {
		if _, err := d.SAML.ConfigureFromMetadata(ctx, a.User, gatehouse.CurrentOrganization, id, []byte(md)); err != nil {
			return err
		}
	} else {
		entity, sso, cert := f.Get("saml_entity_id"), f.Get("saml_acs_url"), f.Get("saml_x509_cert")
		if err := saml.CheckIdPFields(&sso, &cert); err != nil {
			return err
		}
		if _, err := d.Domains.Update(ctx, a.User, gatehouse.CurrentOrganization, id,
			gatehouse.DomainUpdate{SAMLEntityID: &entity, SAMLACSURL: &sso, SAMLX509Cert: &cert}); err != nil {
			return err
		}
	}
	allow := f.Get("allow_idp_initiated") == "on"
	mapping := map[string][]string{}
	for _, field := range gatehouse.SAMLAttributeFields {
		for _, n := range strings.Split(f.Get("map_"+field), ",") {
			if n = strings.TrimSpace(n); n != "" {
				mapping[field] = append(mapping[field], n)
			}
		}
	}
	_, err := d.SAML.Admin.UpdateOptions(ctx, a.User, gatehouse.CurrentOrganization, id, gatehouse.SAMLOptionsUpdate{AllowIdPInitiated: &allow, AttributeMapping: mapping})
	return err
}
