package httpapi

import "net/http"

// addTwoFactorRoutes registers TOTP management, the second login step,
// email MFA, trusted devices and the admin reset.
func addTwoFactorRoutes(mux *http.ServeMux, d Deps) {
	for _, p := range []string{"two_factor_start_setup", "start_2fa_setup"} {
		mux.Handle("GET /api/users/@me/"+p, HandleTwoFactorStartSetup(d))
	}
	for _, p := range []string{"two_factor_validate", "validate_2fa"} {
		mux.Handle("POST /api/users/@me/"+p, HandleTwoFactorValidate(d))
	}
	mux.Handle("GET /api/users/@me/two_factor_status", HandleTwoFactorStatus(d))
	mux.Handle("POST /api/users/@me/two_factor_backup_codes", HandleTwoFactorBackupCodes(d))
	mux.Handle("POST /api/users/@me/two_factor_disable", HandleTwoFactorDisable(d))
	mux.Handle("GET /api/users/@me/trusted_devices", HandleTrustedDevices(d))
	mux.Handle("DELETE /api/users/@me/trusted_devices", HandleForgetDevices(d))
	mux.Handle("DELETE /api/users/@me/trusted_devices/{id}", HandleForgetDevice(d))
	mux.Handle("POST /api/users/{uuid}/two_factor_reset", HandleTwoFactorReset(d))

	mux.Handle("POST /api/login/token", SignInEndpoint(d, HandleLoginToken(d)))
	mux.Handle("POST /api/login/email-mfa", SignInEndpoint(d, HandleEmailMFA(d)))
	mux.Handle("POST /api/login/email-mfa/resend", HandleEmailMFAResend(d))
}
