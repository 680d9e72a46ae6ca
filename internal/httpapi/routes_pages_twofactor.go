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
	auth := &d
	tf := &web.TwoFactorPages{Auth: auth, TwoFactor: d.TwoFactor}
	mux.Handle("GET "+httpauth.TwoFactorSetupPage, auth.Session(web.Handler(tf.Page).Serve))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/setup", auth.Session(web.Handler(tf.Setup).Serve))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/confirm", auth.Session(web.Handler(tf.Confirm).Serve))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/backup_codes", auth.Session(web.Handler(tf.BackupCodes).Serve))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/disable", auth.Session(web.Handler(tf.Disable).Serve))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/devices/{id}/forget", auth.Session(web.Handler(tf.ForgetDevice).Serve))
	mux.Handle("POST "+httpauth.TwoFactorSetupPage+"/devices/forget", auth.Session(web.Handler(tf.ForgetDevices).Serve))

	mux.Handle("GET /login/token", web.Handler(tf.LoginToken))
	mux.Handle("POST /login/token", web.Handler(tf.LoginTokenForm))
	mux.Handle("GET /login/email-mfa", web.Handler(tf.EmailMFA))
	mux.Handle("POST /login/email-mfa", web.Handler(tf.EmailMFAForm))
	mux.Handle("POST /login/email-mfa/resend", web.Handler(tf.EmailMFAResend))
}
