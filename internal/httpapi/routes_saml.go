package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

func addSAMLRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET /login/saml", web.HandleSAMLBegin(d))
	mux.Handle("POST /complete/saml", web.HandleSAMLComplete(d))
	mux.Handle("GET /complete/saml", web.HandleSAMLComplete(d))
	mux.Handle("GET /api/saml/metadata", web.HandleSAMLMetadata(d))
	mux.Handle("GET /api/saml/metadata/{domain}", web.HandleSAMLMetadata(d))
	samlAdmin := &api.SAML{SAML: d.SAML}
	mux.Handle("POST /api/organizations/{org}/domains/{id}/saml_metadata", d.User(samlAdmin.UploadMetadata))
	mux.Handle("GET /api/organizations/{org}/domains/{id}/saml", d.User(samlAdmin.Options))
	mux.Handle("PATCH /api/organizations/{org}/domains/{id}/saml", d.User(samlAdmin.UpdateOptions))
	addSAMLPageRoutes(mux, d)
}
