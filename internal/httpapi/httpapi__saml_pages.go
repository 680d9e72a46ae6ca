package httpapi

import "net/http"

func addSAMLPageRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /settings/domains", HandleDomainsPage(d))
	mux.Handle("POST /settings/domains", HandleDomainsForm(d, "add"))
	mux.Handle("POST /settings/domains/{id}/verify", HandleDomainsForm(d, "verify"))
	mux.Handle("POST /settings/domains/{id}/policy", HandleDomainsForm(d, "policy"))
	mux.Handle("POST /settings/domains/{id}/saml", HandleDomainsForm(d, "saml"))
	mux.Handle("POST /settings/domains/{id}/delete", HandleDomainsForm(d, "delete"))
}
