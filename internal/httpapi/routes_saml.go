package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

func addSAMLRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	samlLogin := &web.SAMLLogin{Auth: auth, SAML: d.SAML, SSO: d.SSO, Keys: d.Keys}
	mux.Handle("GET /login/saml", samlLogin.Flow(samlLogin.Begin))
	mux.Handle("POST /complete/saml", samlLogin.Flow(samlLogin.Complete))
	mux.Handle("GET /complete/saml", samlLogin.Flow(samlLogin.Complete))
	mux.Handle("GET /api/saml/metadata", auth.User(samlLogin.Metadata))
	mux.Handle("GET /api/saml/metadata/{domain}", auth.User(samlLogin.Metadata))
	samlAdmin := &api.SAML{SAML: d.SAML}
	mux.Handle("POST /api/organizations/{org}/domains/{id}/saml_metadata", auth.User(samlAdmin.UploadMetadata))
	mux.Handle("GET /api/organizations/{org}/domains/{id}/saml", auth.User(samlAdmin.Options))
	mux.Handle("PATCH /api/organizations/{org}/domains/{id}/saml", auth.User(samlAdmin.UpdateOptions))
	addSAMLPageRoutes(mux, d)
}
