package httpauth

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// queueMail queues a notification; a failure is logged, never returned:
// an email must not fail the request that caused it.
func QueueMail(r *http.Request, d Auth, m mail.Message) {
	if d.Mail == nil {
		return
	}
	if err := d.Mail.Queue(r.Context(), m); err != nil {
		d.Logger.LogAttrs(r.Context(), slog.LevelError, "queueing email failed", slog.String("subject", m.Subject), slog.String("error", err.Error()))
	}
}

// shortUserAgent names the browser and system of a User-Agent, e.g.
// "Firefox on Linux".
func ShortUserAgent(ua string) string {
	if system := gatehouse.OperatingSystem(ua); system != "" {
		return gatehouse.BrowserFamily(ua) + " on " + system
	}
	return gatehouse.BrowserFamily(ua)
}
