package httpapi

import "net/http"

func addSAMLRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /login/saml", HandleSAMLBegin(d))
	mux.Handle("POST /complete/saml", HandleSAMLComplete(d))
	mux.Handle("GET /complete/saml", HandleSAMLComplete(d))
	mux.Handle("GET /api/saml/metadata", HandleSAMLMetadata(d))
	mux.Handle("GET /api/saml/metadata/{domain}", HandleSAMLMetadata(d))
	mux.Handle("POST /api/organizations/{org}/domains/{id}/saml_metadata", HandleSAMLMetadataUpload(d))
	mux.Handle("GET /api/organizations/{org}/domains/{id}/saml", HandleSAMLOptions(d))
	mux.Handle("PATCH /api/organizations/{org}/domains/{id}/saml", HandleSAMLOptions(d))
	addSAMLPageRoutes(mux, d)
}
