package httpauth

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// verificationRate bounds verification emails per user.
var VerificationRate = ratelimit.Rate{Limit: 6, Period: 24 * time.Hour}

// sendVerification queues a verification link for u, at most
// verificationRate per user; it reports whether one was queued.
func SendVerification(r *http.Request, d Auth, u *gatehouse.User) bool {
	if d.Verifier == nil || d.Mail == nil {
		return false
	}
	if err := Throttle(r, d, VerificationRate, "email-verification", u.UUID); err != nil {
		return false
	}
	link := d.SiteURL.String() + "/verify_email/" + url.PathEscape(u.UUID) + "/" + d.Verifier.Token(u)
	QueueMail(r, d, mail.VerificationNotice(u.Email, link))
	return true
}

// notVerified handles a not_verified login refusal: a fresh link is sent
// (within the per-user limit) before the refusal is answered.
func NotVerified(r *http.Request, d Auth, err error) {
	var uv *gatehouse.UnverifiedEmailError
	if errors.As(err, &uv) {
		SendVerification(r, d, uv.User)
	}
}
