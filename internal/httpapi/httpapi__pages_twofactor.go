package httpapi

import "net/http"

// addTwoFactorPageRoutes registers the two-factor pages. Everything under
// /settings/two_factor is reachable under an organization's enforce_2fa
// (twoFactorExempt), so a user sent there can comply.
func addTwoFactorPageRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("GET "+TwoFactorSetupPage, HandleTwoFactorPage(d))
	mux.Handle("POST "+TwoFactorSetupPage+"/setup", HandleTwoFactorForm(d, "setup"))
	mux.Handle("POST "+TwoFactorSetupPage+"/confirm", HandleTwoFactorForm(d, "confirm"))
	mux.Handle("POST "+TwoFactorSetupPage+"/backup_codes", HandleTwoFactorForm(d, "backup_codes"))
	mux.Handle("POST "+TwoFactorSetupPage+"/disable", HandleTwoFactorForm(d, "disable"))
	mux.Handle("POST "+TwoFactorSetupPage+"/devices/{id}/forget", HandleTwoFactorForm(d, "forget_device"))
	mux.Handle("POST "+TwoFactorSetupPage+"/devices/forget", HandleTwoFactorForm(d, "forget_devices"))

	mux.Handle("GET /login/token", HandleLoginTokenPage(d))
	mux.Handle("POST /login/token", HandleLoginTokenForm(d))
	mux.Handle("GET /login/email-mfa", HandleEmailMFAPage(d))
	mux.Handle("POST /login/email-mfa", HandleEmailMFAForm(d))
	mux.Handle("POST /login/email-mfa/resend", HandleEmailMFAResendForm(d))
}
