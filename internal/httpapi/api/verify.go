package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// EmailVerification serves the email-verification API: following a
// verification link (which signs the user in) or an email-change link,
// and asking for a new link.
type EmailVerification struct {
	Auth *httpauth.Auth
	// Verifier checks verification links; nil when email is not
	// configured (then verification is not available).
	Verifier *gatehouse.EmailVerifier
	// Mail queues the links; nil: verification is not available.
	Mail httpauth.Mailer
}

// Verify answers POST /api/users/verify_email: an email-change link
// confirms the new address; a verification link marks the address
// verified and signs the user in.
func (h *EmailVerification) Verify(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UUID  string `json:"uuid"`
		Token string `json:"token"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if gatehouse.IsEmailChangeToken(in.Token) {
		if err := httpauth.ConfirmEmailChange(r, *h.Auth, in.UUID, in.Token); err != nil {
			return err
		}
		httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true})
		return nil
	}
	if h.Verifier == nil {
		return gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance.")
	}
	u, err := h.Verifier.Verify(r.Context(), in.UUID, in.Token)
	if err != nil {
		return err
	}
	if _, err := httpauth.StartSession(w, r, *h.Auth, u, httpauth.LoginStep{Method: "password", NewAccount: true}); err != nil {
		return err
	}
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "email verified", slog.String("user", u.UUID))
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true})
	return nil
}

// Request answers POST /api/users/request_email_verification: a new link
// for the user, throttled, and the same answer whether or not the uuid
// names an account.
func (h *EmailVerification) Request(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		UUID string `json:"uuid"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	if h.Verifier == nil || h.Mail == nil {
		return gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance.")
	}
	if err := httpauth.Throttle(r, *h.Auth, httpauth.VerificationRate, "email-verification-request", in.UUID); err != nil {
		return err
	}
	u, err := h.Verifier.Store.UserByUUID(r.Context(), in.UUID)
	switch {
	case errors.Is(err, gatehouse.ErrNotFound):
		// Same answer as for a real account: uuids are not probed.
	case err != nil:
		return err
	case u.IsEmailVerified != nil && *u.IsEmailVerified:
		return gatehouse.Invalid("already_verified", "", "This email is already verified.")
	default:
		httpauth.SendVerification(r, *h.Auth, u)
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"success": true})
	return nil
}
