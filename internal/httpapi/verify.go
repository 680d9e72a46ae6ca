package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// verificationRate bounds verification emails per user.
var verificationRate = ratelimit.Rate{Limit: 6, Period: 24 * time.Hour}

// sendVerification queues a verification link for u, at most
// verificationRate per user; it reports whether one was queued.
func sendVerification(r *http.Request, d Deps, u *gatehouse.User) bool {
	if d.Verifier == nil || d.Mail == nil {
		return false
	}
	if err := throttle(r, d, verificationRate, "email-verification", u.UUID); err != nil {
		return false
	}
	link := d.SiteURL.String() + "/verify_email/" + url.PathEscape(u.UUID) + "/" + d.Verifier.Token(u)
	queueMail(r, d, mail.VerificationNotice(u.Email, link))
	return true
}

// notVerified handles a not_verified login refusal: a fresh link is sent
// (within the per-user limit) before the refusal is answered.
func notVerified(r *http.Request, d Deps, err error) {
	var uv *gatehouse.UnverifiedEmailError
	if errors.As(err, &uv) {
		sendVerification(r, d, uv.User)
	}
}

func handleVerifyEmail(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UUID  string `json:"uuid"`
			Token string `json:"token"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if gatehouse.IsEmailChangeToken(in.Token) {
			if err := confirmEmailChange(r, d, in.UUID, in.Token); err != nil {
				writeError(w, r, d.Logger, err)
				return
			}
			writeJSON(w, http.StatusOK, map[string]any{"success": true})
			return
		}
		if d.Verifier == nil {
			writeError(w, r, d.Logger, gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance."))
			return
		}
		u, err := d.Verifier.Verify(r.Context(), in.UUID, in.Token)
		if err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if err := signIn(w, r, d, u, "password"); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "email verified", slog.String("user", u.UUID))
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	})
}

func handleRequestVerification(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			UUID string `json:"uuid"`
		}
		if err := decodeJSON(w, r, &in); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		if d.Verifier == nil || d.Mail == nil {
			writeError(w, r, d.Logger, gatehouse.Invalid("email_not_available", "", "Email verification is not available on this instance."))
			return
		}
		if err := throttle(r, d, verificationRate, "email-verification-request", in.UUID); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		u, err := d.Verifier.Store.UserByUUID(r.Context(), in.UUID)
		switch {
		case errors.Is(err, gatehouse.ErrNotFound):
			// Same answer as for a real account: uuids are not probed.
		case err != nil:
			writeError(w, r, d.Logger, err)
			return
		case u.IsEmailVerified != nil && *u.IsEmailVerified:
			writeError(w, r, d.Logger, gatehouse.Invalid("already_verified", "", "This email is already verified."))
			return
		default:
			sendVerification(r, d, u)
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	})
}
