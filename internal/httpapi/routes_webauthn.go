package httpapi

import (
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/web"
)

// addWebAuthnRoutes registers the passkey endpoints.
func addWebAuthnRoutes(mux *http.ServeMux, d httpauth.Auth) {
	mux.Handle("POST /api/webauthn/register/begin", api.HandleWebAuthnRegisterBegin(d))
	mux.Handle("POST /api/webauthn/register/complete", api.HandleWebAuthnRegisterComplete(d))
	mux.Handle("GET /api/webauthn/credentials", api.HandleWebAuthnList(d))
	mux.Handle("PATCH /api/webauthn/credentials/{id}", api.HandleWebAuthnRename(d))
	mux.Handle("DELETE /api/webauthn/credentials/{id}", api.HandleWebAuthnDelete(d))
	mux.Handle("POST /api/webauthn/credentials/{id}/verify", api.HandleWebAuthnVerifyBegin(d))
	mux.Handle("POST /api/webauthn/credentials/{id}/verify_complete", api.HandleWebAuthnVerifyComplete(d))
	mux.Handle("POST /api/webauthn/login/begin", api.HandleWebAuthnLoginBegin(d))
	mux.Handle("POST /api/webauthn/login/complete", httpauth.SignInEndpoint(d, api.HandleWebAuthnLoginComplete(d)))
	mux.Handle("GET /api/login/2fa/passkey/methods", api.HandlePasskeyMethods(d))
	mux.Handle("POST /api/login/2fa/passkey/begin", api.HandlePasskeyTwoFactorBegin(d))
	mux.Handle("GET /static/webauthn.js", web.HandleStatic("text/javascript; charset=utf-8", web.WebauthnScript))
	passkeyPages := &web.PasskeyPages{Auth: &d, Passkeys: d.Passkeys, Domains: d.Domains}
	mux.Handle("GET /settings/passkeys", (&d).Session(web.Handler(passkeyPages.Page).Serve))
}
