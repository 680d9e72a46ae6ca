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

// WebAuthn serves the passkey API (/api/webauthn/…): registration,
// management, passwordless login, and the passkey second step
// (/api/login/2fa/passkey/…). Passkeys nil: no passkeys (the list is
// empty, the rest not found).
type WebAuthn struct {
	Auth      *httpauth.Auth
	Passkeys  *gatehouse.PasskeyService
	Sessions  *gatehouse.AuthService
	TwoFactor *gatehouse.TwoFactorService
}

// passkeyFailure answers ceremony failures and unknown passkeys as
// PostHog's webauthn views do ({"error": "..."}) and returns nil; anything
// else (lockout, SSO enforcement on registration, authentication,
// throttling) it returns, to be answered with the standard envelope.
func passkeyFailure(w http.ResponseWriter, err error) error {
	if e, ok := gatehouse.AsError(err); ok {
		switch {
		case e.Code == gatehouse.PasskeyFailureCode:
			httpauth.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": e.Detail})
			return nil
		case e.Kind == gatehouse.KindNotFound:
			httpauth.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "Credential not found."})
			return nil
		}
	}
	return err
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

func setChallengeCookie(w http.ResponseWriter, p cookies.Policy, key gatehouse.Secret) {
	p.Set(w, WebAuthnCookie, key.Reveal(), cookies.Options{MaxAge: gatehouse.PasskeyChallengeTTL, SameSite: http.SameSiteStrictMode})
}

func clearChallengeCookie(w http.ResponseWriter, p cookies.Policy) {
	p.Clear(w, WebAuthnCookie, cookies.Options{SameSite: http.SameSiteStrictMode})
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
func writeCeremony(w http.ResponseWriter, p cookies.Policy, key gatehouse.Secret, opts any) {
	setChallengeCookie(w, p, key)
	w.Header().Set("Cache-Control", "no-store")
	httpauth.WriteJSON(w, http.StatusOK, opts)
}

// BeginRegistration answers POST /api/webauthn/register/begin (sessions
// only, never an API key): the options of a new passkey's ceremony.
func (h *WebAuthn) BeginRegistration(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if h.Passkeys == nil {
		return errPasskeysUnavailable()
	}
	if c.Session == nil { // session auth only, never an API key
		return httpauth.ErrNotAuthenticated()
	}
	opts, key, err := h.Passkeys.BeginRegistration(r.Context(), c.User, c.Session)
	if err != nil {
		return passkeyFailure(w, err)
	}
	writeCeremony(w, h.Auth.Cookies, key, opts)
	return nil
}

// CompleteRegistration answers POST /api/webauthn/register/complete: the
// new passkey, which must then be verified before it is used.
func (h *WebAuthn) CompleteRegistration(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if h.Passkeys == nil || c.Session == nil {
		return errPasskeysUnavailable()
	}
	body, err := readWebAuthnBody(w, r)
	if err != nil {
		return err
	}
	var in struct {
		Label string `json:"label"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return passkeyFailure(w, &gatehouse.Error{Kind: gatehouse.KindInvalid, Code: gatehouse.PasskeyFailureCode, Detail: "The passkey response could not be read."})
	}
	p, err := h.Passkeys.FinishRegistration(r.Context(), c.User, challengeKey(r), body, in.Label)
	clearChallengeCookie(w, h.Auth.Cookies)
	if err != nil {
		return passkeyFailure(w, err)
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "passkey registered", slog.String("user", c.User.UUID), slog.Int64("passkey", p.ID),
		slog.String("client", httpauth.ClientIP(r)))
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "credential_id": strconv.FormatInt(p.ID, 10),
		"message": "Passkey registered. Verify it to start using it."})
	return nil
}

// List answers GET /api/webauthn/credentials: the caller's passkeys.
func (h *WebAuthn) List(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if h.Passkeys == nil {
		httpauth.WriteJSON(w, http.StatusOK, []any{})
		return nil
	}
	keys, err := h.Passkeys.List(r.Context(), c.User)
	if err != nil {
		return passkeyFailure(w, err)
	}
	out := make([]map[string]any, 0, len(keys))
	for i := range keys {
		out = append(out, passkeyJSON(&keys[i]))
	}
	httpauth.WriteJSON(w, http.StatusOK, out)
	return nil
}

// Rename answers PATCH /api/webauthn/credentials/{id}: a new label.
func (h *WebAuthn) Rename(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	id, ok := passkeyID(r)
	if h.Passkeys == nil || !ok {
		return passkeyFailure(w, gatehouse.NotFound())
	}
	var in struct {
		Label string `json:"label"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := h.Passkeys.Rename(r.Context(), c.User, id, in.Label)
	if err != nil {
		return passkeyFailure(w, err)
	}
	httpauth.WriteJSON(w, http.StatusOK, passkeyJSON(p))
	return nil
}

// Delete answers DELETE /api/webauthn/credentials/{id}; when it was the
// user's last passkey second factor, passkey 2FA turns off and the user
// is told.
func (h *WebAuthn) Delete(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	id, ok := passkeyID(r)
	if h.Passkeys == nil || !ok {
		return passkeyFailure(w, gatehouse.NotFound())
	}
	off, err := h.Passkeys.Delete(r.Context(), c.User, c.Session, id)
	if err != nil {
		return passkeyFailure(w, err)
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "passkey deleted", slog.String("user", c.User.UUID), slog.Int64("passkey", id),
		slog.String("client", httpauth.ClientIP(r)))
	if off {
		notePasskeyTwoFactor(r, *h.Auth, c.User, false)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// BeginVerify answers POST /api/webauthn/credentials/{id}/verify: the
// options of the ceremony that proves a new passkey works.
func (h *WebAuthn) BeginVerify(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	id, ok := passkeyID(r)
	if h.Passkeys == nil || !ok {
		return passkeyFailure(w, gatehouse.NotFound())
	}
	opts, key, err := h.Passkeys.BeginVerify(r.Context(), c.User, id)
	if err != nil {
		return passkeyFailure(w, err)
	}
	writeCeremony(w, h.Auth.Cookies, key, opts)
	return nil
}

// CompleteVerify answers POST /api/webauthn/credentials/{id}/verify_complete:
// the passkey, now verified.
func (h *WebAuthn) CompleteVerify(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	id, ok := passkeyID(r)
	if h.Passkeys == nil || !ok {
		return passkeyFailure(w, gatehouse.NotFound())
	}
	body, err := readWebAuthnBody(w, r)
	if err != nil {
		return err
	}
	p, err := h.Passkeys.FinishVerify(r.Context(), c.User, id, challengeKey(r), normalizeAssertion(body))
	clearChallengeCookie(w, h.Auth.Cookies)
	if err != nil {
		return passkeyFailure(w, err)
	}
	httpauth.WriteJSON(w, http.StatusOK, passkeyJSON(p))
	return nil
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

// BeginLogin answers POST /api/webauthn/login/begin: the options of a
// passwordless login ceremony (same-site requests only, throttled per
// address).
func (h *WebAuthn) BeginLogin(w http.ResponseWriter, r *http.Request) error {
	if h.Passkeys == nil {
		return errPasskeysUnavailable()
	}
	if !httpauth.SameOrigin(r, *h.Auth) {
		return httpauth.ErrCSRF()
	}
	if err := httpauth.Throttle(r, *h.Auth, webauthnBeginRate, "webauthn-begin", httpauth.ThrottleAddress(r)); err != nil {
		return err
	}
	opts, key, err := h.Passkeys.BeginLogin(r.Context())
	if err != nil {
		return passkeyFailure(w, err)
	}
	writeCeremony(w, h.Auth.Cookies, key, opts)
	return nil
}

// CompleteLogin answers POST /api/webauthn/login/complete: it signs in
// with a passkey. The session counts as 2FA-verified, and a browser
// already signed in as the same user is re-authenticated.
func (h *WebAuthn) CompleteLogin(w http.ResponseWriter, r *http.Request) error {
	if h.Passkeys == nil {
		return errPasskeysUnavailable()
	}
	if !httpauth.SameOrigin(r, *h.Auth) {
		return httpauth.ErrCSRF()
	}
	body, err := readWebAuthnBody(w, r)
	if err != nil {
		return err
	}
	u, err := h.Passkeys.FinishLogin(r.Context(), challengeKey(r), normalizeAssertion(body), httpauth.ClientIP(r))
	clearChallengeCookie(w, h.Auth.Cookies)
	httpauth.CountLogin("passkey", err)
	if err != nil {
		return passkeyFailure(w, err)
	}
	if _, err := httpauth.StartSession(w, r, *h.Auth, u, httpauth.LoginStep{Method: "passkey", SecondFactor: true}); err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// TwoFactorMethods answers GET /api/login/2fa/passkey/methods: which
// second factors the login pending in this browser may use.
func (h *WebAuthn) TwoFactorMethods(w http.ResponseWriter, r *http.Request) error {
	if h.TwoFactor == nil {
		return errPasskeysUnavailable()
	}
	hasTOTP, hasPasskeys, err := h.TwoFactor.PasskeyMethods(r.Context(), httpauth.PendingKey(r))
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"has_totp": hasTOTP, "has_passkeys": hasPasskeys})
	return nil
}

// BeginTwoFactor answers POST /api/login/2fa/passkey/begin: the options
// of a passkey second step for the login pending in this browser
// (same-site requests only); POST /api/login/token completes it.
func (h *WebAuthn) BeginTwoFactor(w http.ResponseWriter, r *http.Request) error {
	if h.TwoFactor == nil {
		return errPasskeysUnavailable()
	}
	if !httpauth.SameOrigin(r, *h.Auth) {
		return httpauth.ErrCSRF()
	}
	opts, key, err := h.TwoFactor.BeginPasskeyLogin(r.Context(), httpauth.PendingKey(r))
	if err != nil {
		return err
	}
	writeCeremony(w, h.Auth.Cookies, key, opts)
	return nil
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
