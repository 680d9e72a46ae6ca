package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

func addSAMLPageRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	domains := &web.DomainPages{Auth: auth, Accounts: d.Accounts, Domains: d.Domains, SAML: d.SAML}
	mux.Handle("GET /settings/domains", auth.Session(web.Handler(domains.Page).Serve))
	mux.Handle("POST /settings/domains", auth.Session(web.Handler(domains.Add).Serve))
	mux.Handle("POST /settings/domains/{id}/verify", auth.Session(web.Handler(domains.Verify).Serve))
	mux.Handle("POST /settings/domains/{id}/policy", auth.Session(web.Handler(domains.Policy).Serve))
	mux.Handle("POST /settings/domains/{id}/saml", auth.Session(web.Handler(domains.SAMLSettings).Serve))
	mux.Handle("POST /settings/domains/{id}/delete", auth.Session(web.Handler(domains.Delete).Serve))
}
