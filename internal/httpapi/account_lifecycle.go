package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// addLifecycleRoutes registers account deletion; the email change rides
// on PATCH /api/users/@me and the verification link.
func addLifecycleRoutes(mux *http.ServeMux, d Deps) {
	mux.Handle("DELETE /api/users/@me", handleDeleteMe(d))
}

// requestEmailChange handles PATCH /api/users/@me's email: the new address
// is stored as pending, gets the confirmation link, and the old address a
// notice. Nothing is mailed for the current address.
func requestEmailChange(r *http.Request, d Deps, a *authInfo, email *string) error {
	if email == nil {
		return nil
	}
	if d.Lifecycle == nil {
		return gatehouse.Invalid("email_not_available", "email", "Email changes are not available on this instance.")
	}
	ch, err := d.Lifecycle.RequestEmailChange(r.Context(), a.user, a.session, *email)
	if err != nil || ch == nil {
		return err
	}
	link := d.SiteURL.String() + "/verify_email/" + url.PathEscape(a.user.UUID) + "/" + ch.Token
	queueMail(r, d, mail.EmailChangeLinkNotice(a.user.Email, ch.NewEmail, link))
	queueMail(r, d, mail.EmailChangeRequestedNotice(a.user.Email, ch.NewEmail))
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "email change requested", slog.String("user", a.user.UUID), slog.String("client", clientIP(r)))
	return nil
}

// confirmEmailChange uses an email-change link. No session is started:
// every session ended, and the user signs in again with the new address
// (and their second factor), so the link alone never signs anyone in.
func confirmEmailChange(r *http.Request, d Deps, uuid, token string) error {
	if d.Lifecycle == nil {
		return gatehouse.Invalid("email_not_available", "", "Email changes are not available on this instance.")
	}
	done, err := d.Lifecycle.ConfirmEmailChange(r.Context(), uuid, token)
	if err != nil {
		return err
	}
	queueMail(r, d, mail.EmailChangedNotice(done.OldEmail, done.User.Email, len(done.SocialLinks) > 0))
	attrs := []slog.Attr{slog.String("user", done.User.UUID), slog.Int64("sessions_ended", done.SessionsEnded)}
	if len(done.SocialLinks) > 0 {
		// Links made under the old address stay: they identify the
		// provider's account, not the email. Noted for the operator.
		providers := make([]string, 0, len(done.SocialLinks))
		for _, l := range done.SocialLinks {
			providers = append(providers, l.Backend)
		}
		attrs = append(attrs, slog.String("social_links_kept", strings.Join(providers, ",")))
	}
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "email changed", attrs...)
	return nil
}

func handleDeleteMe(d Deps) http.Handler {
	return requireUser(d, func(w http.ResponseWriter, r *http.Request, a *authInfo) {
		if d.Lifecycle == nil {
			writeError(w, r, d.Logger, gatehouse.NotFound())
			return
		}
		if err := d.Lifecycle.DeleteAccount(r.Context(), a.user, a.session); err != nil {
			writeError(w, r, d.Logger, err)
			return
		}
		queueMail(r, d, mail.AccountDeletedNotice(a.user.Email))
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "account deleted", slog.String("user", a.user.UUID), slog.String("client", clientIP(r)))
		d.Cookies.Clear(w, sessionCookie, cookies.Options{})
		w.WriteHeader(http.StatusNoContent)
	})
}
