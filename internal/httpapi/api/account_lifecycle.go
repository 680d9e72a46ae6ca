package api

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/cookies"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// requestEmailChange handles PATCH /api/users/@me's email: the new address
// is stored as pending, gets the confirmation link, and the old address a
// notice. Nothing is mailed for the current address.
func requestEmailChange(r *http.Request, d httpauth.Auth, a *httpauth.Caller, email *string) error {
	if email == nil {
		return nil
	}
	if d.Lifecycle == nil {
		return gatehouse.Invalid("email_not_available", "email", "Email changes are not available on this instance.")
	}
	ch, err := d.Lifecycle.RequestEmailChange(r.Context(), a.User, a.Session, *email)
	if err != nil || ch == nil {
		return err
	}
	link := d.SiteURL.String() + "/verify_email/" + url.PathEscape(a.User.UUID) + "/" + ch.Token
	httpauth.QueueMail(r, d, mail.EmailChangeLinkNotice(a.User.Email, ch.NewEmail, link))
	httpauth.QueueMail(r, d, mail.EmailChangeRequestedNotice(a.User.Email, ch.NewEmail))
	d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "email change requested", slog.String("user", a.User.UUID), slog.String("client", httpauth.ClientIP(r)))
	return nil
}

func HandleDeleteMe(d httpauth.Auth) http.Handler {
	return httpauth.RequireUser(d, func(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) {
		if d.Lifecycle == nil {
			httpauth.WriteError(w, r, gatehouse.NotFound())
			return
		}
		if err := d.Lifecycle.DeleteAccount(r.Context(), a.User, a.Session); err != nil {
			httpauth.WriteError(w, r, err)
			return
		}
		httpauth.QueueMail(r, d, mail.AccountDeletedNotice(a.User.Email))
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "account deleted", slog.String("user", a.User.UUID), slog.String("client", httpauth.ClientIP(r)))
		d.Cookies.Clear(w, httpauth.SessionCookie, cookies.Options{})
		w.WriteHeader(http.StatusNoContent)
	})
}
