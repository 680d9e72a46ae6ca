package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

func addSocialRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	social := &web.SocialLogin{Auth: auth, Sessions: d.Sessions, SSO: d.SSO, SocialProviders: d.SocialProviders, Keys: d.Keys, Limiter: d.Limiter}
	mux.Handle("GET /login/{backend}", social.Flow(social.Begin))
	mux.Handle("POST /connect/{backend}", auth.Session(social.Flow(social.Connect)))
	mux.Handle("GET /complete/{backend}", social.Flow(social.Complete))
	mux.Handle("POST /complete/{backend}", social.Flow(social.Complete))
	mux.Handle("POST /api/social_signup", httpauth.SignInEndpoint(d, httpauth.Handler(social.Signup)))
	mux.Handle("GET /organization/confirm-creation", web.Handler(social.ConfirmCreation))
	mux.Handle("POST /organization/confirm-creation", web.Handler(social.ConfirmCreationForm))
	socialAccounts := &api.SocialAccounts{SSO: d.SSO}
	mux.Handle("GET "+web.SocialAccountsPath, auth.User(socialAccounts.List))
	mux.Handle("DELETE "+web.SocialAccountsPath+"/{id}", auth.User(socialAccounts.Unlink))
	mux.Handle("POST /disconnect/{backend}", auth.User(socialAccounts.Disconnect))
	mux.Handle("POST /disconnect/{backend}/{id}", auth.User(socialAccounts.Disconnect))
}
