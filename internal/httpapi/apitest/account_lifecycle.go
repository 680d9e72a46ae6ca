package apitest

import (
	"regexp"
	"testing"
)

// requestEmailChange asks for a change to email as b and returns the
// token of the link mailed to that address.
func RequestEmailChangeToken(t *testing.T, ts *Server, b *Browser, email string) string {
	t.Helper()
	before := len(ts.Mail.Messages())
	resp, body := b.Send("PATCH", "/api/users/@me/", `{"email":"`+email+`"}`, true)
	if resp.StatusCode != 200 {
		t.Fatalf("email change to %s: %d %v", email, resp.StatusCode, body)
	}
	for _, m := range ts.Mail.Messages()[before:] {
		if m.To == email {
			if got := emailChangeLink.FindStringSubmatch(m.Text); got != nil {
				return got[2]
			}
		}
	}
	t.Fatalf("no link mailed to %s: %v", email, ts.Mail.Messages()[before:])
	return ""
}

func ConfirmEmail(ts *Server, b *Browser, token string) (int, map[string]any) {
	resp, body := b.Send("POST", "/api/users/verify_email/", `{"uuid":"`+ts.User.UUID+`","token":"`+token+`"}`, false)
	return resp.StatusCode, body
}

var emailChangeLink = regexp.MustCompile(`/verify_email/([0-9a-f-]{36})/(ec-[0-9a-z]+-[0-9a-f]{64})`)
