package api

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// handleResetRequest mails a reset link: 204 whether or not the email has
// an account.
func HandleResetRequest(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email string `json:"email"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		if err := d.Reset.Request(r.Context(), in.Email, httpauth.ClientIP(r)); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleResetValidate checks a reset link before the form is shown.
func HandleResetValidate(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.Reset.Validate(r.Context(), r.PathValue("uuid"), r.URL.Query().Get("token")); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// handleResetComplete sets the new password; it does not sign in.
func HandleResetComplete(d httpauth.Auth) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Token    string `json:"token"`
			Password string `json:"password"`
		}
		if err := httpauth.DecodeJSON(w, r, &in); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		user, err := d.Reset.Complete(r.Context(), r.PathValue("uuid"), in.Token, gatehouse.Secret(in.Password))
		if err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "password reset", slog.String("user", user.UUID), slog.String("client", httpauth.ClientIP(r)))
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "email": user.Email})
	})
}
