package apitest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/mail"

	"github.com/gatehouse-auth/gatehouse/internal/mfa"
)

func NewClock() *Clock {
	c := &Clock{}
	start := time.Now().Truncate(30 * time.Second).Add(15 * time.Second)
	c.Ns.Store(start.UnixNano())
	return c
}

// enableTOTP sets up TOTP as b (signed in) and returns the secret and the
// backup codes.
func EnableTOTP(t *testing.T, b *Browser, at time.Time) ([]byte, []string) {
	t.Helper()
	resp, body := b.Send("GET", "/api/users/@me/two_factor_start_setup/", "", false)
	if resp.StatusCode != 200 || body["success"] != true {
		t.Fatalf("start setup: %d %v", resp.StatusCode, body)
	}
	enc := body["secret"].(string)
	if len(enc) != 32 || !strings.HasPrefix(body["otpauth_uri"].(string), "otpauth://totp/Gatehouse:") {
		t.Fatalf("setup answer %v", body)
	}
	secret, err := mfa.DecodeSecret(enc)
	if err != nil {
		t.Fatal(err)
	}
	resp, body = b.Send("POST", "/api/users/@me/two_factor_validate/", `{"token":"`+mfa.Code(secret, mfa.Step(at))+`"}`, true)
	if resp.StatusCode != 200 || body["success"] != true {
		t.Fatalf("validate: %d %v", resp.StatusCode, body)
	}
	var codes []string
	for _, c := range body["backup_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if len(codes) != 10 {
		t.Fatalf("%d backup codes", len(codes))
	}
	return secret, codes
}

func (b *Browser) Token(code string) (*http.Response, map[string]any) {
	b.T.Helper()
	raw, _ := json.Marshal(map[string]string{"token": code})
	return b.Send("POST", "/api/login/token/", string(raw), false)
}

func WantCode(t *testing.T, what string, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body["code"] != code {
		t.Fatalf("%s: %d %v, want %d %s", what, resp.StatusCode, body, status, code)
	}
}

func SetCookieHeader(resp *http.Response, prefix string) string {
	for _, h := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(h, prefix) {
			return h
		}
	}
	return ""
}

func MailsWithSubject(ts *Server, subject string) []mail.Message {
	var out []mail.Message
	for _, m := range ts.Mail.Messages() {
		if m.Subject == subject {
			out = append(out, m)
		}
	}
	return out
}

// ownerBrowserWith2FA signs the owner in through both steps in a new
// browser, one step after the clock's (so the code is not a replay).
func OwnerBrowserWith2FA(t *testing.T, ts *Server, secret []byte, clock *Clock) *Browser {
	t.Helper()
	clock.Add(30 * time.Second)
	b := NewBrowser(t, ts)
	resp, body := b.Login("owner@example.com", OwnerPassword)
	WantCode(t, "password step", resp, body, 401, "2fa_required")
	if resp, body := b.Token(clock.Code(secret)); resp.StatusCode != 200 {
		t.Fatalf("second step: %d %v", resp.StatusCode, body)
	}
	return b
}

// enforce2FA turns enforce_2fa on for the owner's organization.
func Enforce2FA(t *testing.T, ts *Server) {
	t.Helper()
	if _, err := ts.Store.DB().Exec(`UPDATE organizations SET enforce_2fa = TRUE WHERE id = '` + ts.User.CurrentOrganizationID + `'`); err != nil {
		t.Fatal(err)
	}
}

// emailMFAToken returns the email and token of the newest email-MFA link.
func EmailMFAToken(t *testing.T, ts *Server) (email, token string) {
	t.Helper()
	msgs := MailsWithSubject(ts, "Confirm your sign-in to Gatehouse")
	if len(msgs) == 0 {
		t.Fatal("no email-MFA email")
	}
	m := emailMFALink.FindStringSubmatch(msgs[len(msgs)-1].Text)
	if m == nil {
		t.Fatalf("no link in %q", msgs[len(msgs)-1].Text)
	}
	q, err := url.ParseQuery(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return q.Get("email"), q.Get("token")
}

var emailMFALink = regexp.MustCompile(`https://gatehouse\.example\.com/login/email-mfa\?(\S+)`)

// Clock is a settable clock safe for concurrent handlers. It starts in
// the middle of a TOTP step, so ±1 step arithmetic in tests is exact.
type Clock struct{ Ns atomic.Int64 }

func (c *Clock) Now() time.Time { return time.Unix(0, c.Ns.Load()) }

func (c *Clock) Add(d time.Duration) { c.Ns.Add(int64(d)) }

func (c *Clock) Code(secret []byte) string { return mfa.Code(secret, mfa.Step(c.Now())) }
