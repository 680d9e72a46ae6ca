package httpapi

import "net/http"

func addSocialRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /login/{backend}", HandleSocialBegin(d))
	mux.Handle("POST /connect/{backend}", HandleSocialConnect(d))
	mux.Handle("GET /complete/{backend}", HandleSocialComplete(d))
	mux.Handle("POST /complete/{backend}", HandleSocialComplete(d))
	mux.Handle("POST /api/social_signup", SignInEndpoint(d, HandleSocialSignup(d)))
	mux.Handle("GET /organization/confirm-creation", HandleConfirmCreationPage(d))
	mux.Handle("POST /organization/confirm-creation", HandleConfirmCreationForm(d))
	mux.Handle("GET "+SocialAccountsPath, HandleSocialAccounts(d))
	mux.Handle("DELETE "+SocialAccountsPath+"/{id}", HandleSocialUnlink(d, false))
	mux.Handle("POST /disconnect/{backend}", HandleSocialUnlink(d, true))
	mux.Handle("POST /disconnect/{backend}/{id}", HandleSocialUnlink(d, true))
}
