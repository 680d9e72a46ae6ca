package httpapi

import "net/http"

// addWebAuthnRoutes registers the passkey endpoints.
func addWebAuthnRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("POST /api/webauthn/register/begin", HandleWebAuthnRegisterBegin(d))
	mux.Handle("POST /api/webauthn/register/complete", HandleWebAuthnRegisterComplete(d))
	mux.Handle("GET /api/webauthn/credentials", HandleWebAuthnList(d))
	mux.Handle("PATCH /api/webauthn/credentials/{id}", HandleWebAuthnRename(d))
	mux.Handle("DELETE /api/webauthn/credentials/{id}", HandleWebAuthnDelete(d))
	mux.Handle("POST /api/webauthn/credentials/{id}/verify", HandleWebAuthnVerifyBegin(d))
	mux.Handle("POST /api/webauthn/credentials/{id}/verify_complete", HandleWebAuthnVerifyComplete(d))
	mux.Handle("POST /api/webauthn/login/begin", HandleWebAuthnLoginBegin(d))
	mux.Handle("POST /api/webauthn/login/complete", SignInEndpoint(d, HandleWebAuthnLoginComplete(d)))
	mux.Handle("GET /api/login/2fa/passkey/methods", HandlePasskeyMethods(d))
	mux.Handle("POST /api/login/2fa/passkey/begin", HandlePasskeyTwoFactorBegin(d))
	mux.Handle("GET /static/webauthn.js", HandleStatic("text/javascript; charset=utf-8", WebauthnScript))
	mux.Handle("GET /settings/passkeys", HandlePasskeysPage(d))
}
