package apitest

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func VerificationLinks(t *testing.T, ts *Server) [][]string {
	t.Helper()
	var out [][]string
	for _, m := range ts.Mail.Messages() {
		if m.Subject == "Verify your email address for Gatehouse" {
			out = append(out, verifyLink.FindStringSubmatch(m.Text))
		}
	}
	return out
}

func VerifyBody(uuid, token string) string {
	b, _ := json.Marshal(map[string]string{"uuid": uuid, "token": token})
	return string(b)
}

// flipLast changes the last character of a token, so the result always
// differs from the original.
func FlipLast(token string) string {
	last := "0"
	if strings.HasSuffix(token, "0") {
		last = "1"
	}
	return token[:len(token)-1] + last
}

var verifyLink = regexp.MustCompile(`/verify_email/([0-9a-f-]{36})/([0-9a-z]+-[0-9a-f]{64})`)
