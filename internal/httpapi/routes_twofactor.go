package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addTwoFactorRoutes registers TOTP management, the second login step,
// email MFA, trusted devices and the admin reset.
func addTwoFactorRoutes(mux *http.ServeMux, d httpauth.Auth) {
	for _, p := range []string{"two_factor_start_setup", "start_2fa_setup"} {
		mux.Handle("GET /api/users/@me/"+p, api.HandleTwoFactorStartSetup(d))
	}
	for _, p := range []string{"two_factor_validate", "validate_2fa"} {
		mux.Handle("POST /api/users/@me/"+p, api.HandleTwoFactorValidate(d))
	}
	mux.Handle("GET /api/users/@me/two_factor_status", api.HandleTwoFactorStatus(d))
	mux.Handle("POST /api/users/@me/two_factor_backup_codes", api.HandleTwoFactorBackupCodes(d))
	mux.Handle("POST /api/users/@me/two_factor_disable", api.HandleTwoFactorDisable(d))
	mux.Handle("GET /api/users/@me/trusted_devices", api.HandleTrustedDevices(d))
	mux.Handle("DELETE /api/users/@me/trusted_devices", api.HandleForgetDevices(d))
	mux.Handle("DELETE /api/users/@me/trusted_devices/{id}", api.HandleForgetDevice(d))
	mux.Handle("POST /api/users/{uuid}/two_factor_reset", api.HandleTwoFactorReset(d))

	mux.Handle("POST /api/login/token", httpauth.SignInEndpoint(d, api.HandleLoginToken(d)))
	mux.Handle("POST /api/login/email-mfa", httpauth.SignInEndpoint(d, api.HandleEmailMFA(d)))
	mux.Handle("POST /api/login/email-mfa/resend", api.HandleEmailMFAResend(d))
}
