package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

func addSAMLPageRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET /settings/domains", web.HandleDomainsPage(d))
	mux.Handle("POST /settings/domains", web.HandleDomainsForm(d, "add"))
	mux.Handle("POST /settings/domains/{id}/verify", web.HandleDomainsForm(d, "verify"))
	mux.Handle("POST /settings/domains/{id}/policy", web.HandleDomainsForm(d, "policy"))
	mux.Handle("POST /settings/domains/{id}/saml", web.HandleDomainsForm(d, "saml"))
	mux.Handle("POST /settings/domains/{id}/delete", web.HandleDomainsForm(d, "delete"))
}
