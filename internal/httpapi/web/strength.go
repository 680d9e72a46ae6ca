package web

import (
	"mime"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/password"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// StrengthRate is how many strength checks one client address may ask
// for: enough for a person typing (the meter waits for a pause), too few
// to use the endpoint as a password-guessing oracle at scale.
var StrengthRate = ratelimit.Rate{Limit: 60, Period: time.Minute}

// PasswordStrength rates a password with the server's own policy, for the
// strength meter of the signup, reset and password-change forms, so the
// meter and the server agree.
type PasswordStrength struct {
	Auth *httpauth.Auth // the limiter and SITE_URL
}

// strengthAnswer is the JSON answer: zxcvbn's score and feedback, whether
// the policy accepts the password, and why not.
type strengthAnswer struct {
	Score      int              `json:"score"`
	Feedback   strengthFeedback `json:"feedback"`
	Acceptable bool             `json:"acceptable"`
	Detail     string           `json:"detail,omitempty"`
}

type strengthFeedback struct {
	Warning     string   `json:"warning"`
	Suggestions []string `json:"suggestions"`
}

// Check answers POST /api/users/password_strength with {"password",
// "email", "first_name", "last_name"} (the last three count as guessable
// words, as at signup). JSON bodies from this site only; rate-limited per
// client address. Nothing is stored or logged.
func (h *PasswordStrength) Check(w http.ResponseWriter, r *http.Request) error {
	if err := httpauth.CrossOrigin(r, h.Auth.SiteURL); err != nil {
		return err
	}
	if media, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || media != "application/json" {
		return httpauth.ErrUnsupportedMediaType(r.Header.Get("Content-Type"))
	}
	if err := httpauth.Throttle(r, *h.Auth, StrengthRate, "password_strength", httpauth.ClientIP(r)); err != nil {
		return err
	}
	var in struct {
		Password  string `json:"password"`
		Email     string `json:"email"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	}
	if err := httpauth.DecodeJSON(w, r, &in); err != nil {
		return err
	}
	var inputs []string
	for _, s := range []string{in.Email, in.FirstName, in.LastName} {
		if s != "" {
			inputs = append(inputs, s)
		}
	}
	a := password.Assess(gatehouse.Secret(in.Password), inputs...)
	out := strengthAnswer{Score: a.Score, Feedback: strengthFeedback{Warning: a.Warning, Suggestions: a.Suggestions}, Acceptable: a.Err == nil}
	if e, ok := gatehouse.AsError(a.Err); ok {
		out.Detail = e.Detail
	}
	w.Header().Set("Cache-Control", "no-store")
	httpauth.WriteJSON(w, http.StatusOK, out)
	return nil
}
