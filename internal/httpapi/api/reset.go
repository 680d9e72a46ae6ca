package api

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// PasswordReset serves the password-reset API (/api/reset). It allows
// anonymous callers and ignores any session: the reset token is the
// credential.
type PasswordReset struct {
	Reset *gatehouse.ResetService
}

// Request answers POST /api/reset: it mails a reset link, and answers 204
// whether or not the email has an account.
func (h *PasswordReset) Request(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string `json:"email"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := h.Reset.Request(r.Context(), in.Email, httpauth.ClientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Validate answers GET /api/reset/{uuid}: it checks a reset link before
// the form is shown.
func (h *PasswordReset) Validate(w http.ResponseWriter, r *http.Request) error {
	if err := h.Reset.Validate(r.Context(), r.PathValue("uuid"), r.URL.Query().Get("token")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// Complete answers POST /api/reset/{uuid}: it sets the new password; it
// does not sign in.
func (h *PasswordReset) Complete(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	user, err := h.Reset.Complete(r.Context(), r.PathValue("uuid"), in.Token, gatehouse.Secret(in.Password))
	if err != nil {
		return err
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "password reset", slog.String("user", user.UUID), slog.String("client", httpauth.ClientIP(r)))
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "email": user.Email})
	return nil
}
