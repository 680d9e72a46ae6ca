package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// addResetRoutes registers the password-reset endpoints. They allow
// anonymous callers and ignore any session (so they need no CSRF token):
// the reset token is the credential.
func addResetRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("POST /api/reset", handleResetRequest(d))
	mux.Handle("GET /api/reset/{uuid}", handleResetValidate(d))
	mux.Handle("POST /api/reset/{uuid}", handleResetComplete(d))
}

// handleResetRequest mails a reset link: 204 whether or not the email has
// an account.
func handleResetRequest(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email string `json:"email"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if err := d.Reset.Request(r.Context(), in.Email, clientIP(r)); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// handleResetValidate checks a reset link before the form is shown.
func handleResetValidate(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.Reset.Validate(r.Context(), r.PathValue("uuid"), r.URL.Query().Get("token")); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

// handleResetComplete sets the new password; it does not sign in.
func handleResetComplete(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Token    string `json:"token"`
			Password string `json:"password"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		user, err := d.Reset.Complete(r.Context(), r.PathValue("uuid"), in.Token, gatehouse.Secret(in.Password))
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "password reset", slog.String("user", user.UUID), slog.String("client", clientIP(r)))
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "email": user.Email})
	})
}
