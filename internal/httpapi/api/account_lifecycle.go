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
func (h *Account) requestEmailChange(r *http.Request, a *httpauth.Caller, email *string) error {
	if email == nil {
		return nil
	}
	if h.Lifecycle == nil {
		return gatehouse.Invalid("email_not_available", "email", "Email changes are not available on this instance.")
	}
	ch, err := h.Lifecycle.RequestEmailChange(r.Context(), a.User, a.Session, *email)
	if err != nil || ch == nil {
		return err
	}
	link := h.Auth.SiteURL.String() + "/verify_email/" + url.PathEscape(a.User.UUID) + "/" + ch.Token
	httpauth.QueueMail(r, *h.Auth, mail.EmailChangeLinkNotice(a.User.Email, ch.NewEmail, link))
	httpauth.QueueMail(r, *h.Auth, mail.EmailChangeRequestedNotice(a.User.Email, ch.NewEmail))
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "email change requested", slog.String("user", a.User.UUID), slog.String("client", httpauth.ClientIP(r)))
	return nil
}

// Lifecycle serves account deletion, DELETE /api/users/@me; the email
// change rides on PATCH /api/users/@me (Account.Update) and the
// verification link.
type Lifecycle struct {
	Auth *httpauth.Auth
	// Lifecycle deletes accounts; nil: DELETE /api/users/@me is 404.
	Lifecycle *gatehouse.AccountLifecycle
}

// Delete answers DELETE /api/users/@me: it deletes the caller's account,
// mails a notice and clears the session cookie.
func (h *Lifecycle) Delete(w http.ResponseWriter, r *http.Request, a *httpauth.Caller) error {
	if h.Lifecycle == nil {
		return gatehouse.NotFound()
	}
	if err := h.Lifecycle.DeleteAccount(r.Context(), a.User, a.Session); err != nil {
		return err
	}
	httpauth.QueueMail(r, *h.Auth, mail.AccountDeletedNotice(a.User.Email))
	httpauth.Logger(r.Context()).LogAttrs(r.Context(), slog.LevelInfo, "account deleted", slog.String("user", a.User.UUID), slog.String("client", httpauth.ClientIP(r)))
	h.Auth.Cookies.Clear(w, httpauth.SessionCookie, cookies.Options{})
	w.WriteHeader(http.StatusNoContent)
	return nil
}
