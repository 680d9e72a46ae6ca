package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

// addWebAuthnRoutes registers the passkey endpoints.
func addWebAuthnRoutes(mux *http.ServeMux, d httpauth.Auth) {
	webAuthn := &api.WebAuthn{Auth: &d, Passkeys: d.Passkeys, Sessions: d.Sessions, TwoFactor: d.TwoFactor}
	mux.Handle("POST /api/webauthn/register/begin", d.User(webAuthn.BeginRegistration))
	mux.Handle("POST /api/webauthn/register/complete", d.User(webAuthn.CompleteRegistration))
	mux.Handle("GET /api/webauthn/credentials", d.User(webAuthn.List))
	mux.Handle("PATCH /api/webauthn/credentials/{id}", d.User(webAuthn.Rename))
	mux.Handle("DELETE /api/webauthn/credentials/{id}", d.User(webAuthn.Delete))
	mux.Handle("POST /api/webauthn/credentials/{id}/verify", d.User(webAuthn.BeginVerify))
	mux.Handle("POST /api/webauthn/credentials/{id}/verify_complete", d.User(webAuthn.CompleteVerify))
	mux.Handle("POST /api/webauthn/login/begin", httpauth.Handler(webAuthn.BeginLogin))
	mux.Handle("POST /api/webauthn/login/complete", httpauth.SignInEndpoint(d, httpauth.Handler(webAuthn.CompleteLogin)))
	mux.Handle("GET /api/login/2fa/passkey/methods", httpauth.Handler(webAuthn.TwoFactorMethods))
	mux.Handle("POST /api/login/2fa/passkey/begin", httpauth.Handler(webAuthn.BeginTwoFactor))
	mux.Handle("GET /static/webauthn.js", web.HandleStatic("text/javascript; charset=utf-8", web.WebauthnScript))
	passkeyPages := &web.PasskeyPages{Auth: &d, Passkeys: d.Passkeys, Domains: d.Domains}
	mux.Handle("GET /settings/passkeys", (&d).Session(web.Handler(passkeyPages.Page).Serve))
}
