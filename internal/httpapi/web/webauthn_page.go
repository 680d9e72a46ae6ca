package web

import (
	"html/template"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	_ "embed"
)

// The passkeys settings page (/settings/passkeys). Every action runs in
// static/webauthn.js against the JSON API, since WebAuthn needs the
// browser's JavaScript; the page itself only lists.

// webauthnScript is the browser side of passkeys.
//
//go:embed static/webauthn.js
var WebauthnScript []byte

func init() {
	pageTemplates["passkeys"] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/passkeys.html"))
}

// passkeysView is what the passkeys page shows.
type passkeysView struct {
	Keys        []passkeyRow
	HasVerified bool
	// TwoFactor: passkeys are the user's second factor.
	TwoFactor   bool
	SSOEnforced bool
}

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

func HandlePasskeysPage(d httpauth.Auth) http.Handler {
	return httpauth.WithSession(d, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := httpauth.CallerFrom(r.Context())
		if a == nil || a.Session == nil {
			http.Redirect(w, r, "/login?next=/settings/passkeys", http.StatusFound)
			return
		}
		data := pageData{Email: a.User.Email, Notice: passkeyNotices[r.URL.Query().Get("done")],
			CSRFToken: httpauth.EnsureCSRFCookie(w, r, d, a.SessionKey, time.Until(a.Session.ExpiresAt).Round(time.Second))}
		view := &passkeysView{}
		status := http.StatusOK
		if d.Passkeys == nil {
			data.Error = "Passkeys are not available on this instance."
			data.Passkeys = view
			renderPage(w, r, status, "passkeys", data)
			return
		}
		keys, err := d.Passkeys.List(r.Context(), a.User)
		if err == nil {
			view.TwoFactor, err = d.Passkeys.TwoFactorEnabled(r.Context(), a.User.ID)
		}
		if err == nil && d.Domains != nil {
			var provider string
			provider, err = d.Domains.EnforcedProvider(r.Context(), a.User.Email)
			view.SSOEnforced = provider != ""
		}
		if err != nil {
			status, _, data.Error = pageError(w, r, err)
		}
		for _, k := range keys {
			row := passkeyRow{ID: k.ID, Label: k.Label, Type: k.AuthenticatorType(), Verified: k.Verified, LastUsed: "Never"}
			if k.LastUsedAt != nil {
				row.LastUsed = k.LastUsedAt.UTC().Format("2006-01-02 15:04 UTC")
			}
			view.HasVerified = view.HasVerified || k.Verified
			view.Keys = append(view.Keys, row)
		}
		data.Passkeys = view
		renderPage(w, r, status, "passkeys", data)
	}))
}
