package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

func addSocialRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET /login/{backend}", web.HandleSocialBegin(d))
	mux.Handle("POST /connect/{backend}", web.HandleSocialConnect(d))
	mux.Handle("GET /complete/{backend}", web.HandleSocialComplete(d))
	mux.Handle("POST /complete/{backend}", web.HandleSocialComplete(d))
	mux.Handle("POST /api/social_signup", httpauth.SignInEndpoint(d, web.HandleSocialSignup(d)))
	mux.Handle("GET /organization/confirm-creation", web.HandleConfirmCreationPage(d))
	mux.Handle("POST /organization/confirm-creation", web.HandleConfirmCreationForm(d))
	socialAccounts := &api.SocialAccounts{SSO: d.SSO}
	mux.Handle("GET "+web.SocialAccountsPath, d.User(socialAccounts.List))
	mux.Handle("DELETE "+web.SocialAccountsPath+"/{id}", d.User(socialAccounts.Unlink))
	mux.Handle("POST /disconnect/{backend}", d.User(socialAccounts.Disconnect))
	mux.Handle("POST /disconnect/{backend}/{id}", d.User(socialAccounts.Disconnect))
}
