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
	mux.Handle("GET "+web.SocialAccountsPath, api.HandleSocialAccounts(d))
	mux.Handle("DELETE "+web.SocialAccountsPath+"/{id}", api.HandleSocialUnlink(d, false))
	mux.Handle("POST /disconnect/{backend}", api.HandleSocialUnlink(d, true))
	mux.Handle("POST /disconnect/{backend}/{id}", api.HandleSocialUnlink(d, true))
}
