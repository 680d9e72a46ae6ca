package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

// addPageRoutes registers the HTML pages and their stylesheet.
func addPageRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET /static/gatehouse.css", web.HandleStatic("text/css; charset=utf-8", web.Stylesheet))
	mux.Handle("GET /static/login.js", web.HandleStatic("text/javascript; charset=utf-8", web.LoginScript))
	mux.Handle("GET /login", web.HandleLoginPage(d))
	mux.Handle("POST /login", web.HandleLoginForm(d))
	mux.Handle("GET /signup", web.HandleSignupPage(d))
	mux.Handle("POST /signup", web.HandleSignupForm(d))
	mux.Handle("GET /{$}", web.HandleHomePage(d))
	mux.Handle("GET /reset", web.HandleResetRequestPage(d))
	mux.Handle("POST /reset", web.HandleResetRequestForm(d))
	mux.Handle("GET /reset/{uuid}/{token}", web.HandleResetPage(d))
	mux.Handle("POST /reset/{uuid}/{token}", web.HandleResetForm(d))
	mux.Handle("GET /signup/{invite}", web.HandleInvitePage(d))
	mux.Handle("POST /signup/{invite}", web.HandleInviteForm(d))
	mux.Handle("GET /verify_email/{uuid}/{token}", web.HandleVerifyEmailPage(d))
	mux.Handle("POST /verify_email/{uuid}/{token}", web.HandleVerifyEmailForm(d))
	mux.Handle("GET /settings", web.HandleSettingsPage(d))
	mux.Handle("POST /settings/profile", web.HandleSettingsForm(d, "profile"))
	mux.Handle("POST /settings/password", web.HandleSettingsForm(d, "password"))
	mux.Handle("POST /settings/sessions/{id}/revoke", web.HandleSettingsForm(d, "revoke"))
}
