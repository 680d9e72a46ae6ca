package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

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

// DomainsPage is what domains.html shows.
type DomainsPage struct {
	Layout
	// Done names the form just saved (a marker for tests and scripts).
	Done         string
	Organization string
	IsAdmin      bool
	// NewDomain is the domain the add form keeps after an error.
	NewDomain string
	// EntityID and ACSURL are this service provider's, for the IdP.
	EntityID, ACSURL string
	// Backends are the sign-in methods a domain can enforce.
	Backends []string
	Domains  []domainView
}

func (*DomainsPage) template() string { return "domains" }

// DomainPages serves the domains page: an organization's domains, their
// sign-in policy and SAML identity provider.
type DomainPages struct {
	Auth     *httpauth.Auth // CSRF tokens
	Accounts *gatehouse.AccountService
	Domains  *gatehouse.DomainService
	// SAML is nil when SAML is unavailable.
	SAML *saml.Service
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

// Page shows the domains page.
func (h *DomainPages) Page(w http.ResponseWriter, r *http.Request) error {
	a := signedIn(w, r, "/settings/domains")
	if a == nil {
		return nil
	}
	page := &DomainsPage{}
	page.Notice, page.Done = doneNotice(r, domainNotices)
	h.render(w, r, a, http.StatusOK, page)
	return nil
}

// render draws the domains page with what page already holds (a notice,
// an error, the domain being added).
func (h *DomainPages) render(w http.ResponseWriter, r *http.Request, a *httpauth.Caller, status int, page *DomainsPage) {
	page.CSRFToken = sessionCSRFToken(w, r, h.Auth, a)
	page.Backends = gatehouse.KnownSSOBackends
	if h.SAML != nil {
		page.EntityID, page.ACSURL = h.SAML.EntityID(), h.SAML.ACSURL()
	}
	if h.SAML != nil {
		if org, err := h.SAML.Admin.RequireAdmin(r.Context(), a.User, gatehouse.CurrentOrganization); err == nil {
			page.IsAdmin, page.Organization = true, org.Name
		}
	}
	if p, err := h.Accounts.Profile(r.Context(), a.User); err == nil && p.Organization != nil {
		page.Organization = p.Organization.Name
	}
	list, err := h.Domains.List(r.Context(), a.User, gatehouse.CurrentOrganization)
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
		if h.SAML != nil {
			opts, _ = h.SAML.Store.SAMLOptions(r.Context(), dom.ID)
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
	renderPage(w, r, status, page)
}

// Add adds a domain to the current organization.
func (h *DomainPages) Add(w http.ResponseWriter, r *http.Request) error { return h.form(w, r, "add") }

// Verify checks a domain's DNS record.
func (h *DomainPages) Verify(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "verify")
}

// Policy saves a domain's sign-in policy (JIT, enforcement).
func (h *DomainPages) Policy(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "policy")
}

// SAMLSettings saves a domain's SAML identity provider and options.
func (h *DomainPages) SAMLSettings(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "saml")
}

// Delete removes a domain.
func (h *DomainPages) Delete(w http.ResponseWriter, r *http.Request) error {
	return h.form(w, r, "delete")
}

// form applies one of the domains page's forms and returns to the page,
// or shows it again with the error. The session check (Auth.Session) has
// already verified the CSRF token.
func (h *DomainPages) form(w http.ResponseWriter, r *http.Request, form string) error {
	a := httpauth.CallerFrom(r.Context())
	if a == nil || a.Session == nil {
		http.Redirect(w, r, "/login?next=/settings/domains", http.StatusSeeOther)
		return nil
	}
	if err := httpauth.ParseFormBody(w, r); err != nil {
		return errFormUnreadable
	}
	ctx, org, id, f := r.Context(), gatehouse.CurrentOrganization, r.PathValue("id"), r.PostForm
	var err error
	switch form {
	case "add":
		_, err = h.Domains.Create(ctx, a.User, org, f.Get("domain"))
	case "verify":
		_, err = h.Domains.Verify(ctx, a.User, org, id)
	case "policy":
		jit, enforcement := f.Get("jit_provisioning_enabled") == "on", f.Get("sso_enforcement")
		_, err = h.Domains.Update(ctx, a.User, org, id, gatehouse.DomainUpdate{JITProvisioningEnabled: &jit, SSOEnforcement: &enforcement})
	case "saml":
		err = h.saveSAML(r, a, id)
	case "delete":
		err = h.Domains.Delete(ctx, a.User, org, id)
	}
	if err != nil {
		page := &DomainsPage{}
		if form == "add" {
			page.NewDomain = f.Get("domain")
		}
		return onPage(err, page).drawnBy(func(status int) { h.render(w, r, a, status, page) })
	}
	http.Redirect(w, r, "/settings/domains?"+url.Values{"done": {form}}.Encode(), http.StatusSeeOther)
	return nil
}

// saveSAML stores the SAML form: the IdP from pasted metadata when given,
// else from the three fields; then the options.
func (h *DomainPages) saveSAML(r *http.Request, a *httpauth.Caller, id string) error {
	if h.SAML == nil {
		return gatehouse.NotFound()
	}
	ctx, f := r.Context(), r.PostForm
	if md := strings.TrimSpace(f.Get("metadata")); md != "" {
		if _, err := h.SAML.ConfigureFromMetadata(ctx, a.User, gatehouse.CurrentOrganization, id, []byte(md)); err != nil {
			return err
		}
	} else {
		entity, sso, cert := f.Get("saml_entity_id"), f.Get("saml_acs_url"), f.Get("saml_x509_cert")
		if err := saml.CheckIdPFields(&sso, &cert); err != nil {
			return err
		}
		if _, err := h.Domains.Update(ctx, a.User, gatehouse.CurrentOrganization, id,
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
	_, err := h.SAML.Admin.UpdateOptions(ctx, a.User, gatehouse.CurrentOrganization, id, gatehouse.SAMLOptionsUpdate{AllowIdPInitiated: &allow, AttributeMapping: mapping})
	return err
}
