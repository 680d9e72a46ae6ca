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

func HandleTwoFactorStartSetup(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		setup, err := d.TwoFactor.StartSetup(r.Context(), a.User)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "secret": setup.Secret.Reveal(), "otpauth_uri": setup.URI.Reveal()})
	})
}

func HandleTwoFactorValidate(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		var in struct {
			Token string `json:"token"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		codes, err := d.TwoFactor.ValidateSetup(r.Context(), a.User, a.Session, gatehouse.HashSessionKey(a.SessionKey), in.Token)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.NoteTwoFactorEnabled(r, d, a.User)
		w.Header().Set("Cache-Control", "no-store")
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "backup_codes": codes})
	})
}

func HandleTwoFactorStatus(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		st, err := d.TwoFactor.Status(r.Context(), a.User)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
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
	})
}

func HandleTwoFactorBackupCodes(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		codes, err := d.TwoFactor.RegenerateBackupCodes(r.Context(), a.User, a.Session)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"backup_codes": codes})
	})
}

func HandleTwoFactorDisable(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		was, err := d.TwoFactor.Disable(r.Context(), a.User, a.Session)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		if was {
			httpauth.NoteTwoFactorDisabled(r, d, a.User)
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

func HandleTwoFactorReset(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		target, err := d.TwoFactor.AdminReset(r.Context(), a.User, a.Session, r.PathValue("uuid"))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "2fa reset by admin", slog.String("user", target.UUID), slog.String("admin", a.User.UUID),
			slog.String("client", httpauth.ClientIP(r)))
		httpauth.QueueMail(r, d, mail.TwoFactorResetNotice(target.Email, a.User.Email))
		httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

// --- trusted devices ---

func HandleTrustedDevices(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		list, err := d.TwoFactor.TrustedDevices(r.Context(), a.User)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		current := map[string]bool{}
		for _, c := range httpauth.RememberCookies(r) {
			current[c.ID] = true
		}
		out := make([]map[string]any, 0, len(list))
		for _, dev := range list {
			out = append(out, map[string]any{"id": dev.ID, "created_at": dev.CreatedAt.Format(time.RFC3339), "last_used_at": dev.LastUsedAt.Format(time.RFC3339),
				"expires_at": dev.ExpiresAt.Format(time.RFC3339), "ip": dev.ClientIP, "device": httpauth.ShortUserAgent(dev.UserAgent), "is_current": current[dev.ID]})
		}
		httpauth.WriteJSON(w, http.StatusOK, out)
	})
}

func HandleForgetDevices(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if _, err := d.TwoFactor.ForgetDevices(r.Context(), a.User); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		for _, c := range httpauth.RememberCookies(r) {
			d.Cookies.Clear(w, httpauth.RememberCookiePrefix+c.ID, httpauth.RememberCookieOptions())
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func HandleForgetDevice(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		id := r.PathValue("id")
		if err := d.TwoFactor.ForgetDevice(r.Context(), a.User, id); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		for _, c := range httpauth.RememberCookies(r) {
			if c.ID == id {
				d.Cookies.Clear(w, httpauth.RememberCookiePrefix+c.ID, httpauth.RememberCookieOptions())
			}
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// --- the second login step ---

// handleLoginToken is the second step: a TOTP or backup code for the login
// pending in this browser.
func HandleLoginToken(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Token string `json:"token"`
			// A passkey second step sends the assertion instead.
			CredentialID string          `json:"credential_id"`
			Response     json.RawMessage `json:"response"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		var step *gatehouse.SecondStep
		var err error
		if in.CredentialID != "" || len(in.Response) > 0 {
			step, err = d.TwoFactor.CompletePasskeyLogin(r.Context(), httpauth.PendingKey(r), challengeKey(r), passkeyTokenBody(in.CredentialID, in.Response))
			clearChallengeCookie(w, d)
		} else {
			step, err = d.TwoFactor.CompleteLogin(r.Context(), httpauth.PendingKey(r), in.Token)
		}
		if err == nil {
			err = httpauth.FinishLogin(w, r, d, step.User, "password")
		}
		if err != nil {
			httpauth.NoteCodeFailures(r, d, err)
			if httpauth.PendingLoginOver(err) {
				d.Cookies.Clear(w, httpauth.PendingLoginCookie, cookies.Options{})
			}
			httpauth.WriteError(w, r, err)
			return
		}
		if step.BackupCodeUsed {
			httpauth.NoteBackupCodeUsed(r, d, step.User)
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

func HandleEmailMFA(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email string `json:"email"`
			Token string `json:"token"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		u, err := d.TwoFactor.CompleteEmailLogin(r.Context(), in.Email, in.Token)
		if err == nil {
			err = httpauth.FinishLogin(w, r, d, u, "password")
		}
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	})
}

func HandleEmailMFAResend(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, token, err := d.TwoFactor.ResendEmailLogin(r.Context(), httpauth.PendingKey(r))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.QueueMail(r, d, httpauth.EmailMFAMail(d, u, token))
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "message": "Verification email sent"})
	})
}

// --- organization enforcement ---

// twoFactorFields adds the user's 2FA state to a /api/users/@me answer;
// false when it could not be read (the answer then omits it).
func twoFactorFields(r *http.Request, d httpauth.Auth, u *gatehouse.User, out *meBody) bool {
	if d.TwoFactor == nil {
		return true
	}
	has, err := d.TwoFactor.IsEnabled(r.Context(), u.ID)
	if err != nil {
		d.Logger.LogAttrs(r.Context(), slog.LevelError, "reading 2FA state", slog.String("error", err.Error()))
		return false
	}
	out.Is2FAEnabled = has
	if d.Passkeys != nil {
		on, err := d.Passkeys.TwoFactorFlag(r.Context(), u.ID)
		if err != nil {
			d.Logger.LogAttrs(r.Context(), slog.LevelError, "reading passkey 2FA state", slog.String("error", err.Error()))
			return false
		}
		out.PasskeysEnabledFor2FA = &on
	}
	return true
}
