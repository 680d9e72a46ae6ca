package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

// addTwoFactorRoutes registers TOTP management, the second login step,
// email MFA, trusted devices and the admin reset.
func addTwoFactorRoutes(mux *http.ServeMux, d httpauth.Auth) {
	auth := &d
	twoFactor := &api.TwoFactor{Auth: auth, TwoFactor: d.TwoFactor}
	for _, p := range []string{"two_factor_start_setup", "start_2fa_setup"} {
		mux.Handle("GET /api/users/@me/"+p, auth.User(twoFactor.StartSetup))
	}
	for _, p := range []string{"two_factor_validate", "validate_2fa"} {
		mux.Handle("POST /api/users/@me/"+p, auth.User(twoFactor.Validate))
	}
	mux.Handle("GET /api/users/@me/two_factor_status", auth.User(twoFactor.Status))
	mux.Handle("POST /api/users/@me/two_factor_backup_codes", auth.User(twoFactor.RegenerateBackupCodes))
	mux.Handle("POST /api/users/@me/two_factor_disable", auth.User(twoFactor.Disable))
	mux.Handle("GET /api/users/@me/trusted_devices", auth.User(twoFactor.TrustedDevices))
	mux.Handle("DELETE /api/users/@me/trusted_devices", auth.User(twoFactor.ForgetDevices))
	mux.Handle("DELETE /api/users/@me/trusted_devices/{id}", auth.User(twoFactor.ForgetDevice))
	mux.Handle("POST /api/users/{uuid}/two_factor_reset", auth.User(twoFactor.Reset))

	mux.Handle("POST /api/login/token", httpauth.SignInEndpoint(d, httpauth.Handler(twoFactor.CompleteLogin)))
	mux.Handle("POST /api/login/email-mfa", httpauth.SignInEndpoint(d, httpauth.Handler(twoFactor.CompleteEmailLogin)))
	mux.Handle("POST /api/login/email-mfa/resend", httpauth.Handler(twoFactor.ResendEmailLogin))
}
