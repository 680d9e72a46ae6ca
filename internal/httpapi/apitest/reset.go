package apitest

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/mail"
)

// fakeMailer captures queued emails.
type FakeMailer struct {
	Mu   sync.Mutex
	Sent []mail.Message
	// wait, when set, waits for mail still being queued after an answer
	// (the reset service's Wait).
	Wait func()
}

func (f *FakeMailer) Queue(_ context.Context, m mail.Message) error {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	f.Sent = append(f.Sent, m)
	return nil
}

func (f *FakeMailer) Messages() []mail.Message {
	if f.Wait != nil {
		f.Wait()
	}
	f.Mu.Lock()
	defer f.Mu.Unlock()
	return append([]mail.Message(nil), f.Sent...)
}

var ResetLinkPattern = regexp.MustCompile(`https://gatehouse\.example\.com/reset/([0-9a-f-]{36})/([0-9a-z]+-[0-9a-f]{64})`)

// requestReset asks for a reset of email and returns the token from the
// newest email (or "" when none was sent).
func RequestReset(t *testing.T, ts *Server, email string) string {
	t.Helper()
	before := len(ts.Mail.Messages())
	resp, body := NewBrowser(t, ts).Send("POST", "/api/reset/", `{"email":"`+email+`"}`, false)
	if resp.StatusCode != 204 || body != nil {
		t.Fatalf("reset request: %d %v", resp.StatusCode, body)
	}
	msgs := ts.Mail.Messages()
	if len(msgs) == before {
		return ""
	}
	if len(msgs) != before+1 {
		t.Fatalf("%d emails for one request", len(msgs)-before)
	}
	m := msgs[len(msgs)-1]
	match := ResetLinkPattern.FindStringSubmatch(m.Text)
	if m.Subject != "Reset your Gatehouse password" || match == nil || !strings.EqualFold(m.To, email) {
		t.Fatalf("reset email: %+v", m)
	}
	if match[1] != ts.User.UUID {
		t.Fatalf("link for user %s, want %s", match[1], ts.User.UUID)
	}
	return match[2]
}

func ValidateReset(t *testing.T, ts *Server, uuid, token string) (int, map[string]any) {
	t.Helper()
	resp, body := NewBrowser(t, ts).Send("GET", "/api/reset/"+uuid+"/?token="+token, "", false)
	return resp.StatusCode, body
}

func CompleteReset(t *testing.T, ts *Server, uuid, token, pw string) (int, map[string]any) {
	t.Helper()
	in, _ := json.Marshal(map[string]string{"token": token, "password": pw})
	resp, body := NewBrowser(t, ts).Send("POST", "/api/reset/"+uuid, string(in), false)
	return resp.StatusCode, body
}

func WantInvalidToken(t *testing.T, what string, status int, body map[string]any) {
	t.Helper()
	if status != 400 || body["code"] != "invalid_token" || body["attr"] != "token" ||
		body["detail"] != "This reset token is invalid or has expired." || body["type"] != "validation_error" {
		t.Fatalf("%s: %d %v", what, status, body)
	}
}

const (
	ResetEmail       = "owner@example.com"
	ResetOldPassword = "correct horse battery"
	ResetNewPassword = "plinth-marmalade-quasar-77"
)
