package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func HandleVerifyEmail(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UUID  string `json:"uuid"`
			Token string `json:"token"`
		}
		if err := DecodeJSON(w, r, &in); err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		if gatehouse.IsEmailChangeToken(in.Token) {
			if err := ConfirmEmailChange(r, d, in.UUID, in.Token); err != nil {
				WriteError(w, r, d.Logger, err)
				return
			}
			WriteJSON(w, http.StatusOK, map[string]any{"success": true})
			return
		}
		if d.Verifier == nil {
			WriteError(w, r, d.Logger, gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance."))
			return
		}
		u, err := d.Verifier.Verify(r.Context(), in.UUID, in.Token)
		if err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		if err := SignIn(w, r, d, u, "password"); err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "email verified", slog.String("user", u.UUID))
		WriteJSON(w, http.StatusOK, map[string]any{"success": true})
	})
}

func HandleRequestVerification(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UUID string `json:"uuid"`
		}
		if err := DecodeJSON(w, r, &in); err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		if d.Verifier == nil || d.Mail == nil {
			WriteError(w, r, d.Logger, gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance."))
			return
		}
		if err := Throttle(r, d, VerificationRate, "email-verification-request", in.UUID); err != nil {
			WriteError(w, r, d.Logger, err)
			return
		}
		u, err := d.Verifier.Store.UserByUUID(r.Context(), in.UUID)
		switch {
		case errors.Is(err, gatehouse.ErrNotFound):
			// Same answer as for a real account: uuids are not probed.
		case err != nil:
			WriteError(w, r, d.Logger, err)
			return
		case u.IsEmailVerified != nil && *u.IsEmailVerified:
			WriteError(w, r, d.Logger, gatehouse.Invalid("already_verified", "", "This email is already verified."))
			return
		default:
			SendVerification(r, d, u)
		}
		WriteJSON(w, http.StatusOK, map[string]any{"success": true})
	})
}
