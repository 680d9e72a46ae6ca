package web

import (
	"html/template"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"

	_ "embed"
)

// The passkeys settings page (/settings/passkeys). Every action runs in
// static/webauthn.js against the JSON API, since WebAuthn needs the
// browser's JavaScript; the page itself only lists.

// WebauthnScript is the browser side of passkeys.
//
//go:embed static/webauthn.js
var WebauthnScript []byte

func init() {
	pageTemplates["passkeys"] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/passkeys.html"))
}

// PasskeysPage is what passkeys.html shows.
type PasskeysPage struct {
	Layout
	Email       string // the signed-in user's
	Keys        []passkeyRow
	HasVerified bool
	// TwoFactor: passkeys are the user's second factor.
	TwoFactor   bool
	SSOEnforced bool
}

func (*PasskeysPage) template() string { return "passkeys" }

// passkeyRow is one passkey in the list.
type passkeyRow struct {
	ID                    int64
	Label, Type, LastUsed string
	Verified              bool
}

var passkeyNotices = map[string]string{
	"added": "Your passkey was added and verified.", "verified": "Your passkey was verified.", "renamed": "Your passkey was renamed.",
	"deleted": "Your passkey was deleted.", "2fa_on": "Passkeys are now your second factor.", "2fa_off": "Passkeys are no longer your second factor.",
}

// PasskeyPages serves the passkeys settings page.
type PasskeyPages struct {
	Auth *httpauth.Auth // CSRF tokens
	// Passkeys is nil when passkeys are unavailable.
	Passkeys *gatehouse.PasskeyService
	// Domains tells whether the user's domain enforces SSO (no passkeys
	// can be added then).
	Domains *gatehouse.DomainService
}

// Page lists the signed-in user's passkeys.
func (h *PasskeyPages) Page(w http.ResponseWriter, r *http.Request) error {
	a := signedIn(w, r, "/settings/passkeys")
	if a == nil {
		return nil
	}
	data := &PasskeysPage{Layout: Layout{Notice: passkeyNotices[r.URL.Query().Get("done")], CSRFToken: sessionCSRFToken(w, r, h.Auth, a)},
		Email: a.User.Email}
	status := http.StatusOK
	if h.Passkeys == nil {
		data.Error = "Passkeys are not available on this instance."
		renderPage(w, r, status, data)
		return nil
	}
	keys, err := h.Passkeys.List(r.Context(), a.User)
	if err == nil {
		data.TwoFactor, err = h.Passkeys.TwoFactorEnabled(r.Context(), a.User.ID)
	}
	if err == nil && h.Domains != nil {
		var provider string
		provider, err = h.Domains.EnforcedProvider(r.Context(), a.User.Email)
		data.SSOEnforced = provider != ""
	}
	if err != nil {
		status, _, data.Error = pageError(w, r, err)
	}
	for _, k := range keys {
		row := passkeyRow{ID: k.ID, Label: k.Label, Type: k.AuthenticatorType(), Verified: k.Verified, LastUsed: "Never"}
		if k.LastUsedAt != nil {
			row.LastUsed = k.LastUsedAt.UTC().Format("2006-01-02 15:04 UTC")
		}
		data.HasVerified = data.HasVerified || k.Verified
		data.Keys = append(data.Keys, row)
	}
	renderPage(w, r, status, data)
	return nil
}
