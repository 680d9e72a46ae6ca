package api

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// Passkeys (WebAuthn, docs/posthog-compat.md#passkeys): registration with proof of possession,
// management, passwordless login, and the passkey second step. Challenges
// live server-side; the browser holds only a random key for its challenge
// in a cookie. Like PostHog's webauthn views, ceremony failures answer
// 400 {"error": "..."} rather than the standard envelope.

// WebAuthnCookie carries the key of the browser's pending WebAuthn
// challenge. SameSite=Strict: another site cannot make a browser answer a
// challenge it holds.
const WebAuthnCookie = "gatehouse_webauthn"

// maxWebAuthnBody bounds a WebAuthn response body.
const maxWebAuthnBody = 64 << 10

// webauthnBeginRate bounds the challenges one address can request.
var webauthnBeginRate = ratelimit.Rate{Limit: 30, Period: time.Minute}

// writePasskeyError answers ceremony failures and unknown passkeys as
// PostHog's webauthn views do ({"error": "..."}); anything else (lockout,
// SSO enforcement on registration, authentication, throttling) keeps the
// standard envelope.
func writePasskeyError(w http.ResponseWriter, r *http.Request, d httpauth.Auth, err error) {
	if e, ok := gatehouse.AsError(err); ok {
		switch {
		case e.Code == gatehouse.PasskeyFailureCode:
			httpauth.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": e.Detail})
			return
		case e.Kind == gatehouse.KindNotFound:
			httpauth.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "Credential not found."})
			return
		}
	}
	httpauth.WriteError(w, r, err)
}

func errPasskeysUnavailable() error {
	return &gatehouse.Error{Kind: gatehouse.KindNotFound, Code: "not_found", Detail: "Passkeys are not available on this instance."}
}

// challengeKey is the browser's WebAuthn challenge key, if any.
func challengeKey(r *http.Request) string {
	if c, err := r.Cookie(WebAuthnCookie); err == nil {
		return c.Value
	}
	return ""
}

func setChallengeCookie(w http.ResponseWriter, d httpauth.Auth, key gatehouse.Secret) {
	d.Cookies.Set(w, WebAuthnCookie, key.Reveal(), cookies.Options{MaxAge: gatehouse.PasskeyChallengeTTL, SameSite: http.SameSiteStrictMode})
}

func clearChallengeCookie(w http.ResponseWriter, d httpauth.Auth) {
	d.Cookies.Clear(w, WebAuthnCookie, cookies.Options{SameSite: http.SameSiteStrictMode})
}

// readWebAuthnBody reads a bounded raw body.
func readWebAuthnBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebAuthnBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &gatehouse.Error{Kind: gatehouse.KindTooLarge, Code: "request_too_large", Detail: "Request body is too large."}
		}
		return nil, &gatehouse.Error{Kind: gatehouse.KindMalformed, Code: "parse_error", Detail: "Could not read the request body."}
	}
	if json.Valid(b) {
		if err := httpauth.CheckJSONText(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func passkeyID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// passkeyJSON is a passkey as the credentials list shows it.
func passkeyJSON(p *gatehouse.Passkey) map[string]any {
	var used any
	if p.LastUsedAt != nil {
		used = p.LastUsedAt.Format(time.RFC3339)
	}
	return map[string]any{"id": p.ID, "label": p.Label, "created_at": p.CreatedAt.Format(time.RFC3339), "last_used_at": used,
		"transports": p.Transports, "verified": p.Verified, "authenticator_type": p.AuthenticatorType()}
}

// writeCeremony answers a ceremony's begin step: the challenge cookie and
// the options, never cached.
func writeCeremony(w http.ResponseWriter, d httpauth.Auth, key gatehouse.Secret, opts any) {
	setChallengeCookie(w, d, key)
	w.Header().Set("Cache-Control", "no-store")
	httpauth.WriteJSON(w, http.StatusOK, opts)
}

func HandleWebAuthnRegisterBegin(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if d.Passkeys == nil {
			httpauth.WriteError(w, r, errPasskeysUnavailable())
			return
		}
		if a.Session == nil { // session auth only, never an API key
			httpauth.WriteError(w, r, httpauth.ErrNotAuthenticated())
			return
		}
		opts, key, err := d.Passkeys.BeginRegistration(r.Context(), a.User, a.Session)
		if err != nil {
			writePasskeyError(w, r, d, err)
			return
		}
		writeCeremony(w, d, key, opts)
	})
}

func HandleWebAuthnRegisterComplete(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if d.Passkeys == nil || a.Session == nil {
			httpauth.WriteError(w, r, errPasskeysUnavailable())
			return
		}
		body, err := readWebAuthnBody(w, r)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		var in struct {
			Label string `json:"label"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			writePasskeyError(w, r, d, &gatehouse.Error{Kind: gatehouse.KindInvalid, Code: gatehouse.PasskeyFailureCode, Detail: "The passkey response could not be read."})
			return
		}
		p, err := d.Passkeys.FinishRegistration(r.Context(), a.User, challengeKey(r), body, in.Label)
		clearChallengeCookie(w, d)
		if err != nil {
			writePasskeyError(w, r, d, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "passkey registered", slog.String("user", a.User.UUID), slog.Int64("passkey", p.ID),
			slog.String("client", httpauth.ClientIP(r)))
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "credential_id": strconv.FormatInt(p.ID, 10),
			"message": "Passkey registered. Verify it to start using it."})
	})
}

func HandleWebAuthnList(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if d.Passkeys == nil {
			httpauth.WriteJSON(w, http.StatusOK, []any{})
			return
		}
		keys, err := d.Passkeys.List(r.Context(), a.User)
		if err != nil {
			writePasskeyError(w, r, d, err)
			return
		}
		out := make([]map[string]any, 0, len(keys))
		for i := range keys {
			out = append(out, passkeyJSON(&keys[i]))
		}
		httpauth.WriteJSON(w, http.StatusOK, out)
	})
}

func HandleWebAuthnRename(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		id, ok := passkeyID(r)
		if d.Passkeys == nil || !ok {
			writePasskeyError(w, r, d, gatehouse.NotFound())
			return
		}
		var in struct {
			Label string `json:"label"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		p, err := d.Passkeys.Rename(r.Context(), a.User, id, in.Label)
		if err != nil {
			writePasskeyError(w, r, d, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, passkeyJSON(p))
	})
}

func HandleWebAuthnDelete(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		id, ok := passkeyID(r)
		if d.Passkeys == nil || !ok {
			writePasskeyError(w, r, d, gatehouse.NotFound())
			return
		}
		off, err := d.Passkeys.Delete(r.Context(), a.User, a.Session, id)
		if err != nil {
			writePasskeyError(w, r, d, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "passkey deleted", slog.String("user", a.User.UUID), slog.Int64("passkey", id),
			slog.String("client", httpauth.ClientIP(r)))
		if off {
			notePasskeyTwoFactor(r, d, a.User, false)
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func HandleWebAuthnVerifyBegin(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		id, ok := passkeyID(r)
		if d.Passkeys == nil || !ok {
			writePasskeyError(w, r, d, gatehouse.NotFound())
			return
		}
		opts, key, err := d.Passkeys.BeginVerify(r.Context(), a.User, id)
		if err != nil {
			writePasskeyError(w, r, d, err)
			return
		}
		writeCeremony(w, d, key, opts)
	})
}

func HandleWebAuthnVerifyComplete(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		id, ok := passkeyID(r)
		if d.Passkeys == nil || !ok {
			writePasskeyError(w, r, d, gatehouse.NotFound())
			return
		}
		body, err := readWebAuthnBody(w, r)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		p, err := d.Passkeys.FinishVerify(r.Context(), a.User, id, challengeKey(r), normalizeAssertion(body))
		clearChallengeCookie(w, d)
		if err != nil {
			writePasskeyError(w, r, d, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, passkeyJSON(p))
	})
}

// normalizeAssertion fills in what PostHog's clients may leave out of an
// assertion: the type, and id when only rawId is sent. An id that is sent
// is kept as it is, so one that differs from rawId is still refused.
func normalizeAssertion(body []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return body
	}
	if _, ok := m["type"]; !ok {
		m["type"] = json.RawMessage(`"public-key"`)
	}
	if _, ok := m["id"]; !ok {
		if raw, ok := m["rawId"]; ok {
			m["id"] = raw
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

func HandleWebAuthnLoginBegin(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Passkeys == nil {
			httpauth.WriteError(w, r, errPasskeysUnavailable())
			return
		}
		if !httpauth.SameOrigin(r, d) {
			httpauth.WriteError(w, r, httpauth.ErrCSRF())
			return
		}
		if err := httpauth.Throttle(r, d, webauthnBeginRate, "webauthn-begin", httpauth.ThrottleAddress(r)); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		opts, key, err := d.Passkeys.BeginLogin(r.Context())
		if err != nil {
			writePasskeyError(w, r, d, err)
			return
		}
		writeCeremony(w, d, key, opts)
	})
}

// handleWebAuthnLoginComplete signs in with a passkey: the session counts
// as 2FA-verified, and a browser already signed in as the same user is
// re-authenticated.
func HandleWebAuthnLoginComplete(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Passkeys == nil {
			httpauth.WriteError(w, r, errPasskeysUnavailable())
			return
		}
		if !httpauth.SameOrigin(r, d) {
			httpauth.WriteError(w, r, httpauth.ErrCSRF())
			return
		}
		body, err := readWebAuthnBody(w, r)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		u, err := d.Passkeys.FinishLogin(r.Context(), challengeKey(r), normalizeAssertion(body), httpauth.ClientIP(r))
		clearChallengeCookie(w, d)
		httpauth.CountLogin("passkey", err)
		if err != nil {
			writePasskeyError(w, r, d, err)
			return
		}
		res, err := d.Sessions.StartSession(r.Context(), u, gatehouse.LoginInput{ClientIP: httpauth.ClientIP(r), UserAgent: r.UserAgent(),
			PreviousSessionKey: httpauth.PreviousSessionKey(r)}, "passkey")
		if err == nil && d.TwoFactor != nil {
			err = d.TwoFactor.MarkSessionVerified(r.Context(), res)
		}
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.SetSignedIn(w, r, d, res)
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "login", slog.String("user", u.UUID), slog.String("method", "passkey"), slog.String("client", httpauth.ClientIP(r)))
		if res.NewDevice {
			httpauth.QueueMail(r, d, httpauth.NewDeviceMail(res.User, res.Session))
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

func HandlePasskeyMethods(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.TwoFactor == nil {
			httpauth.WriteError(w, r, errPasskeysUnavailable())
			return
		}
		hasTOTP, hasPasskeys, err := d.TwoFactor.PasskeyMethods(r.Context(), httpauth.PendingKey(r))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"has_totp": hasTOTP, "has_passkeys": hasPasskeys})
	})
}

func HandlePasskeyTwoFactorBegin(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.TwoFactor == nil {
			httpauth.WriteError(w, r, errPasskeysUnavailable())
			return
		}
		if !httpauth.SameOrigin(r, d) {
			httpauth.WriteError(w, r, httpauth.ErrCSRF())
			return
		}
		opts, key, err := d.TwoFactor.BeginPasskeyLogin(r.Context(), httpauth.PendingKey(r))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		writeCeremony(w, d, key, opts)
	})
}

// passkeyTokenBody is the assertion of a passkey second step as
// POST /api/login/token/ receives it ({credential_id, response}), in the
// PublicKeyCredential form the checks read.
func passkeyTokenBody(credentialID string, response json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{"id": credentialID, "rawId": credentialID, "type": "public-key", "response": response})
	return b
}

// notePasskeyTwoFactor logs passkey 2FA being turned on or off and mails
// the user.
func notePasskeyTwoFactor(r *http.Request, d httpauth.Auth, u *gatehouse.User, on bool) {
	if on {
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "2fa enabled", slog.String("user", u.UUID), slog.String("method", "passkey"), slog.String("client", httpauth.ClientIP(r)))
		httpauth.QueueMail(r, d, mail.PasskeyTwoFactorEnabledNotice(u.Email))
		return
	}
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "2fa disabled", slog.String("user", u.UUID), slog.String("method", "passkey"), slog.String("client", httpauth.ClientIP(r)))
	httpauth.QueueMail(r, d, mail.PasskeyTwoFactorDisabledNotice(u.Email))
}
