package httpapi

import "net/http"

// addPageRoutes registers the HTML pages and their stylesheet.
func addPageRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET /static/gatehouse.css", HandleStatic("text/css; charset=utf-8", Stylesheet))
	mux.Handle("GET /static/login.js", HandleStatic("text/javascript; charset=utf-8", LoginScript))
	mux.Handle("GET /login", HandleLoginPage(d))
	mux.Handle("POST /login", HandleLoginForm(d))
	mux.Handle("GET /signup", HandleSignupPage(d))
	mux.Handle("POST /signup", HandleSignupForm(d))
	mux.Handle("GET /{$}", HandleHomePage(d))
	mux.Handle("GET /reset", HandleResetRequestPage(d))
	mux.Handle("POST /reset", HandleResetRequestForm(d))
	mux.Handle("GET /reset/{uuid}/{token}", HandleResetPage(d))
	mux.Handle("POST /reset/{uuid}/{token}", HandleResetForm(d))
	mux.Handle("GET /signup/{invite}", HandleInvitePage(d))
	mux.Handle("POST /signup/{invite}", HandleInviteForm(d))
	mux.Handle("GET /verify_email/{uuid}/{token}", HandleVerifyEmailPage(d))
	mux.Handle("POST /verify_email/{uuid}/{token}", HandleVerifyEmailForm(d))
	mux.Handle("GET /settings", HandleSettingsPage(d))
	mux.Handle("POST /settings/profile", HandleSettingsForm(d, "profile"))
	mux.Handle("POST /settings/password", HandleSettingsForm(d, "password"))
	mux.Handle("POST /settings/sessions/{id}/revoke", HandleSettingsForm(d, "revoke"))
}
