package api

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// TwoFactor serves TOTP management (/api/users/@me/two_factor_…), trusted
// devices, the admin 2FA reset, and the second login step: a TOTP, backup
// code or passkey for the login pending in this browser, or the emailed
// code.
type TwoFactor struct {
	Auth      *httpauth.Auth
	TwoFactor *gatehouse.TwoFactorService
}

// StartSetup answers GET /api/users/@me/two_factor_start_setup: a new TOTP
// secret and its otpauth URI, not yet active.
func (h *TwoFactor) StartSetup(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	setup, err := h.TwoFactor.StartSetup(r.Context(), c.User)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "secret": setup.Secret.Reveal(), "otpauth_uri": setup.URI.Reveal()})
	return nil
}

// Validate answers POST /api/users/@me/two_factor_validate: a code from
// the new secret turns TOTP on, and the answer holds the backup codes,
// shown once.
func (h *TwoFactor) Validate(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	var in struct {
		Token string `json:"token"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	codes, err := h.TwoFactor.ValidateSetup(r.Context(), c.User, c.Session, gatehouse.HashSessionKey(c.SessionKey), in.Token)
	if err != nil {
		return err
	}
	httpauth.NoteTwoFactorEnabled(r, *h.Auth, c.User)
	w.Header().Set("Cache-Control", "no-store")
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "backup_codes": codes})
	return nil
}

// Status answers GET /api/users/@me/two_factor_status.
func (h *TwoFactor) Status(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	st, err := h.TwoFactor.Status(r.Context(), c.User)
	if err != nil {
		return err
	}
	var method any
	if st.HasTOTP {
		method = "TOTP"
	} else if st.PasskeyFactor() {
		method = "passkey"
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"is_enabled": st.HasTOTP || st.PasskeyFactor(), "method": method, "has_totp": st.HasTOTP,
		"has_passkeys": st.HasPasskeys, "passkeys_enabled_for_2fa": st.PasskeysEnabledFor2FA,
		// The codes are shown once, when made; only their number is
		// ever reported again.
		"backup_codes": []string{}, "backup_codes_remaining": st.BackupCodesRemaining})
	return nil
}

// RegenerateBackupCodes answers POST
// /api/users/@me/two_factor_backup_codes: a new set of backup codes,
// shown once, replacing the old.
func (h *TwoFactor) RegenerateBackupCodes(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	codes, err := h.TwoFactor.RegenerateBackupCodes(r.Context(), c.User, c.Session)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"backup_codes": codes})
	return nil
}

// Disable answers POST /api/users/@me/two_factor_disable.
func (h *TwoFactor) Disable(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	was, err := h.TwoFactor.Disable(r.Context(), c.User, c.Session)
	if err != nil {
		return err
	}
	if was {
		httpauth.NoteTwoFactorDisabled(r, *h.Auth, c.User)
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// Reset answers POST /api/users/{uuid}/two_factor_reset: an admin turns
// off a member's 2FA, and the member is told by email.
func (h *TwoFactor) Reset(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	target, err := h.TwoFactor.AdminReset(r.Context(), c.User, c.Session, r.PathValue("uuid"))
	if err != nil {
		return err
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "2fa reset by admin", slog.String("user", target.UUID), slog.String("admin", c.User.UUID),
		slog.String("client", httpauth.ClientIP(r)))
	httpauth.QueueMail(r, *h.Auth, mail.TwoFactorResetNotice(target.Email, c.User.Email))
	httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// --- trusted devices ---

// TrustedDevices answers GET /api/users/@me/trusted_devices: the browsers
// that skip the second step, this one marked.
func (h *TwoFactor) TrustedDevices(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	list, err := h.TwoFactor.TrustedDevices(r.Context(), c.User)
	if err != nil {
		return err
	}
	current := map[string]bool{}
	for _, rc := range httpauth.RememberCookies(r) {
		current[rc.ID] = true
	}
	out := make([]map[string]any, 0, len(list))
	for _, dev := range list {
		out = append(out, map[string]any{"id": dev.ID, "created_at": dev.CreatedAt.Format(time.RFC3339), "last_used_at": dev.LastUsedAt.Format(time.RFC3339),
			"expires_at": dev.ExpiresAt.Format(time.RFC3339), "ip": dev.ClientIP, "device": httpauth.ShortUserAgent(dev.UserAgent), "is_current": current[dev.ID]})
	}
	httpauth.WriteJSON(w, http.StatusOK, out)
	return nil
}

// ForgetDevices answers DELETE /api/users/@me/trusted_devices: no browser
// skips the second step any more.
func (h *TwoFactor) ForgetDevices(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	if _, err := h.TwoFactor.ForgetDevices(r.Context(), c.User); err != nil {
		return err
	}
	for _, rc := range httpauth.RememberCookies(r) {
		h.Auth.Cookies.Clear(w, httpauth.RememberCookiePrefix+rc.ID, httpauth.RememberCookieOptions())
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ForgetDevice answers DELETE /api/users/@me/trusted_devices/{id}.
func (h *TwoFactor) ForgetDevice(w http.ResponseWriter, r *http.Request, c *httpauth.Caller) error {
	id := r.PathValue("id")
	if err := h.TwoFactor.ForgetDevice(r.Context(), c.User, id); err != nil {
		return err
	}
	for _, rc := range httpauth.RememberCookies(r) {
		if rc.ID == id {
			h.Auth.Cookies.Clear(w, httpauth.RememberCookiePrefix+rc.ID, httpauth.RememberCookieOptions())
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// --- the second login step ---

// CompleteLogin answers POST /api/login/token, the second step: a TOTP or
// backup code, or a passkey's assertion, for the login pending in this
// browser.
func (h *TwoFactor) CompleteLogin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token string `json:"token"`
		// A passkey second step sends the assertion instead.
		CredentialID string          `json:"credential_id"`
		Response     json.RawMessage `json:"response"`
		// Remember: false asks not to remember this browser; absent or
		// true remembers it for 30 days, as PostHog does.
		Remember *bool `json:"remember"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	var step *gatehouse.SecondStep
	var err error
	if in.CredentialID != "" || len(in.Response) > 0 {
		step, err = h.TwoFactor.CompletePasskeyLogin(r.Context(), httpauth.PendingKey(r), challengeKey(r), passkeyTokenBody(in.CredentialID, in.Response))
		clearChallengeCookie(w, h.Auth.Cookies)
	} else {
		step, err = h.TwoFactor.CompleteLogin(r.Context(), httpauth.PendingKey(r), in.Token)
	}
	if err == nil {
		_, err = httpauth.StartSession(w, r, *h.Auth, step.User, httpauth.LoginStep{Method: "password", SecondStep: true,
			DontRemember: in.Remember != nil && !*in.Remember})
	}
	if err != nil {
		httpauth.NoteCodeFailures(r, *h.Auth, err)
		if httpauth.PendingLoginOver(err) {
			h.Auth.Cookies.Clear(w, httpauth.PendingLoginCookie, cookies.Options{})
		}
		return err
	}
	if step.BackupCodeUsed {
		httpauth.NoteBackupCodeUsed(r, *h.Auth, step.User)
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// CompleteEmailLogin answers POST /api/login/email-mfa: the second step
// with the code emailed for the login.
func (h *TwoFactor) CompleteEmailLogin(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
		Token string `json:"token"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := h.TwoFactor.CompleteEmailLogin(r.Context(), in.Email, in.Token)
	if err == nil {
		_, err = httpauth.StartSession(w, r, *h.Auth, u, httpauth.LoginStep{Method: "password", SecondStep: true})
	}
	if err != nil {
		return err
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	return nil
}

// ResendEmailLogin answers POST /api/login/email-mfa/resend: a new code
// for the login pending in this browser.
func (h *TwoFactor) ResendEmailLogin(w http.ResponseWriter, r *http.Request) error {
	u, token, err := h.TwoFactor.ResendEmailLogin(r.Context(), httpauth.PendingKey(r))
	if err != nil {
		return err
	}
	httpauth.QueueMail(r, *h.Auth, httpauth.EmailMFAMail(*h.Auth, u, token))
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "message": "Verification email sent"})
	return nil
}

// --- organization enforcement ---

// twoFactorFields adds the user's 2FA state to a /api/users/@me answer;
// false when it could not be read (the answer then omits it).
func twoFactorFields(r *http.Request, twoFactor *gatehouse.TwoFactorService, passkeys *gatehouse.PasskeyService, u *gatehouse.User, out *meBody) bool {
	if twoFactor == nil {
		return true
	}
	has, err := twoFactor.IsEnabled(r.Context(), u.ID)
	if err != nil {
		httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "reading 2FA state", slog.String("error", err.Error()))
		return false
	}
	out.Is2FAEnabled = has
	if passkeys != nil {
		on, err := passkeys.TwoFactorFlag(r.Context(), u.ID)
		if err != nil {
			httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelError, "reading passkey 2FA state", slog.String("error", err.Error()))
			return false
		}
		out.PasskeysEnabledFor2FA = &on
	}
	return true
}
