package password

import (
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/password/strength"
)

// MinScore is the lowest zxcvbn score a new password may have.
const MinScore = 3

// CheckStrength is the password policy for signup, invite signup, reset and
// change: at least gatehouse.MinPasswordLength characters and a zxcvbn score
// of at least MinScore. userInputs (email, names, organization) count as
// guessable words. The error's detail is zxcvbn's feedback, so the person
// learns how to pick a better one.
func CheckStrength(pw gatehouse.Secret, userInputs ...string) error {
	return Assess(pw, userInputs...).Err
}

// Assessment is what the policy makes of a password: zxcvbn's score and
// feedback, and the error CheckStrength returns (nil: accepted).
type Assessment struct {
	Score       int // 0..4; 0 for a password under the minimum length
	Warning     string
	Suggestions []string // never nil
	Err         error
}

// Assess rates pw as CheckStrength does, keeping the score and feedback
// (for a strength meter that agrees with the server).
func Assess(pw gatehouse.Secret, userInputs ...string) Assessment {
	v := pw.Reveal()
	if utf8.RuneCountInString(v) < gatehouse.MinPasswordLength {
		return Assessment{Suggestions: []string{}, Err: gatehouse.Invalid("password_too_short", "password",
			"This password is too short. It must contain at least %d characters.", gatehouse.MinPasswordLength)}
	}
	var inputs []string
	for _, in := range userInputs {
		inputs = append(inputs, strings.Fields(strings.NewReplacer("@", " ", ".", " ").Replace(in))...)
		inputs = append(inputs, in)
	}
	r := strength.Check(v, inputs...)
	a := Assessment{Score: r.Score, Warning: r.Warning, Suggestions: r.Suggestions}
	if a.Suggestions == nil {
		a.Suggestions = []string{}
	}
	if r.Score >= MinScore {
		return a
	}
	var feedback []string
	if r.Warning != "" {
		feedback = append(feedback, strings.TrimSuffix(r.Warning, ".")+".")
	}
	feedback = append(feedback, r.Suggestions...)
	detail := strings.Join(feedback, " ")
	if detail == "" {
		detail = "This password is too weak."
	}
	a.Err = gatehouse.Invalid("password_too_weak", "password", "%s", detail)
	return a
}
