package httpapi

import (
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

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
	queueMail(r, d, emailChangeLinkMail(a.user, ch.NewEmail, link))
	queueMail(r, d, emailChangeRequestedMail(a.user, ch.NewEmail))
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
	queueMail(r, d, emailChangedMail(done))
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
		queueMail(r, d, accountDeletedMail(a.user))
		d.Logger.LogAttrs(r.Context(), slog.LevelInfo, "account deleted", slog.String("user", a.user.UUID), slog.String("client", clientIP(r)))
		d.Cookies.Clear(w, sessionCookie, cookies.Options{})
		w.WriteHeader(http.StatusNoContent)
	})
}

// emailChangeLinkMail carries the confirmation link to the new address.
func emailChangeLinkMail(u *gatehouse.User, newEmail, link string) mail.Message {
	return mail.Message{To: newEmail, Subject: "Confirm your new email address for Gatehouse",
		Text: "Someone signed in as " + u.Email + " asked to change the account's email address to " + newEmail + ".\n\n" +
			"Confirm it by opening this link within 24 hours (it works once):\n\n" + link +
			"\n\nUntil then the address stays " + u.Email + ". If you did not ask for this, ignore this message."}
}

// emailChangeRequestedMail tells the current address that a change was
// asked for.
func emailChangeRequestedMail(u *gatehouse.User, newEmail string) mail.Message {
	return mail.Message{To: u.Email, Subject: "Your Gatehouse email address is about to change",
		Text: "At " + time.Now().UTC().Format("January 2, 2006 at 15:04 UTC") + " someone signed in to your account " + u.Email +
			" asked to change its email address to " + newEmail + ". The change happens only when the link sent to the new address is used.\n\n" +
			"If this was not you, change your password now and contact your administrator."}
}

// emailChangedMail tells the old address that the change is done.
func emailChangedMail(c *gatehouse.ConfirmedEmailChange) mail.Message {
	text := "The email address of your Gatehouse account was changed from " + c.OldEmail + " to " + c.User.Email + " at " +
		time.Now().UTC().Format("January 2, 2006 at 15:04 UTC") + ". Every session was signed out."
	if len(c.SocialLinks) > 0 {
		text += "\n\nThe account's social sign-in links are kept; they were made while the address was " + c.OldEmail + "."
	}
	return mail.Message{To: c.OldEmail, Subject: "Your Gatehouse email address was changed",
		Text: text + "\n\nIf this was not you, contact your administrator now."}
}

// accountDeletedMail confirms a deletion to the deleted account's address.
func accountDeletedMail(u *gatehouse.User) mail.Message {
	return mail.Message{To: u.Email, Subject: "Your Gatehouse account was deleted",
		Text: "The Gatehouse account " + u.Email + " was deleted at " + time.Now().UTC().Format("January 2, 2006 at 15:04 UTC") +
			", with its sessions, personal API keys, passkeys, two-factor settings, trusted devices and social sign-in links.\n\n" +
			"If this was not you, contact your administrator."}
}
