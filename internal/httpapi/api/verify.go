package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func HandleVerifyEmail(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UUID  string `json:"uuid"`
			Token string `json:"token"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		if gatehouse.IsEmailChangeToken(in.Token) {
			if err := httpauth.ConfirmEmailChange(r, d, in.UUID, in.Token); err != nil {
				httpauth.WriteError(w, r, err)
				return
			}
			httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true})
			return
		}
		if d.Verifier == nil {
			httpauth.WriteError(w, r, gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance."))
			return
		}
		u, err := d.Verifier.Verify(r.Context(), in.UUID, in.Token)
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		if err := httpauth.SignIn(w, r, d, u, "password"); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "email verified", slog.String("user", u.UUID))
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true})
	})
}

func HandleRequestVerification(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UUID string `json:"uuid"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		if d.Verifier == nil || d.Mail == nil {
			httpauth.WriteError(w, r, gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance."))
			return
		}
		if err := httpauth.Throttle(r, d, httpauth.VerificationRate, "email-verification-request", in.UUID); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		u, err := d.Verifier.Store.UserByUUID(r.Context(), in.UUID)
		switch {
		case errors.Is(err, gatehouse.ErrNotFound):
			// Same answer as for a real account: uuids are not probed.
		case err != nil:
			httpauth.WriteError(w, r, err)
			return
		case u.IsEmailVerified != nil && *u.IsEmailVerified:
			httpauth.WriteError(w, r, gatehouse.Invalid("already_verified", "", "This email is already verified."))
			return
		default:
			httpauth.SendVerification(r, d, u)
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true})
	})
}
