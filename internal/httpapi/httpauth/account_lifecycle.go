package httpauth

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// confirmEmailChange uses an email-change link. No session is started:
// every session ended, and the user signs in again with the new address
// (and their second factor), so the link alone never signs anyone in.
func ConfirmEmailChange(r *http.Request, d Auth, uuid, token string) error {
	if d.Lifecycle == nil {
		return gatehouse.Invalid("email_not_available", "", "Email changes are not available on this instance.")
	}
	done, err := d.Lifecycle.ConfirmEmailChange(r.Context(), uuid, token)
	if err != nil {
		return err
	}
	QueueMail(r, d, mail.EmailChangedNotice(done.OldEmail, done.User.Email, len(done.SocialLinks) > 0))
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
