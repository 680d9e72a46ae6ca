package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

// addPageRoutes registers the HTML pages and their stylesheet.
func addPageRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	pages := &web.Pages{Auth: auth, Sessions: d.Sessions, Accounts: d.Accounts, Members: d.Members, Invites: d.Invites, Reset: d.Reset,
		Verifier: d.Verifier, Domains: d.Domains, SSO: d.SSO, SocialProviders: d.SocialProviders}
	mux.Handle("GET /static/gatehouse.css", web.HandleStatic("text/css; charset=utf-8", web.Stylesheet))
	mux.Handle("GET /static/login.js", web.HandleStatic("text/javascript; charset=utf-8", web.LoginScript))
	mux.Handle("GET /login", web.Handler(pages.Login))
	mux.Handle("POST /login", web.Handler(pages.LoginForm))
	mux.Handle("GET /signup", web.Handler(pages.Signup))
	mux.Handle("POST /signup", web.Handler(pages.SignupForm))
	mux.Handle("GET /{$}", auth.Session(web.Handler(pages.Home).Serve))
	mux.Handle("GET /reset", web.Handler(pages.ResetRequest))
	mux.Handle("POST /reset", web.Handler(pages.ResetRequestForm))
	mux.Handle("GET /reset/{uuid}/{token}", web.Handler(pages.ResetPassword))
	mux.Handle("POST /reset/{uuid}/{token}", web.Handler(pages.ResetPasswordForm))
	mux.Handle("GET /signup/{invite}", auth.Session(web.Handler(pages.Invite).Serve))
	mux.Handle("POST /signup/{invite}", auth.Session(web.Handler(pages.InviteForm).Serve))
	mux.Handle("GET /verify_email/{uuid}/{token}", web.Handler(pages.VerifyEmail))
	mux.Handle("POST /verify_email/{uuid}/{token}", web.Handler(pages.VerifyEmailForm))
	mux.Handle("GET /settings", auth.Session(web.Handler(pages.Settings).Serve))
	mux.Handle("POST /settings/profile", auth.Session(web.Handler(pages.Profile).Serve))
	mux.Handle("POST /settings/password", auth.Session(web.Handler(pages.Password).Serve))
	mux.Handle("POST /settings/sessions/{id}/revoke", auth.Session(web.Handler(pages.RevokeSession).Serve))
}
