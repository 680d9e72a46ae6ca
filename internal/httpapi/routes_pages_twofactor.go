package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

// addTwoFactorPageRoutes registers the two-factor pages. Everything under
// /settings/two_factor is reachable under an organization's enforce_2fa
// (twoFactorExempt), so a user sent there can comply.
func addTwoFactorPageRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("GET "+httpauth.TwoFactorSetupPage, web.HandleTwoFactorPage(d))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/setup", web.HandleTwoFactorForm(d, "setup"))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/confirm", web.HandleTwoFactorForm(d, "confirm"))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/backup_codes", web.HandleTwoFactorForm(d, "backup_codes"))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/disable", web.HandleTwoFactorForm(d, "disable"))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/devices/{id}/forget", web.HandleTwoFactorForm(d, "forget_device"))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/devices/forget", web.HandleTwoFactorForm(d, "forget_devices"))

	mux.Handle("GET /login/token", web.HandleLoginTokenPage(d))
	mux.Handle("POST /login/token", web.HandleLoginTokenForm(d))
	mux.Handle("GET /login/email-mfa", web.HandleEmailMFAPage(d))
	mux.Handle("POST /login/email-mfa", web.HandleEmailMFAForm(d))
	mux.Handle("POST /login/email-mfa/resend", web.HandleEmailMFAResendForm(d))
}
