package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func newDeviceMails(ts *apitest.Server) []mail.Message {
	var out []mail.Message
	for _, m := range ts.Mail.Messages() {
		if m.Subject == "A new device logged into your account" {
			out = append(out, m)
		}
	}
	return out
}

func TestNewDeviceNotice(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		now := time.Now()
		ts := apitest.NewServer(t, engine, apitest.Options{Trusted: "127.0.0.1", Behind: true, Now: func() time.Time { return now }})
		firefox := "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
		chrome := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"
		login := func(ip, ua string) {
			t.Helper()
			b := apitest.NewBrowser(t, ts)
			b.Extra = []string{"X-Forwarded-For", ip, "User-Agent", ua}
			if resp, body := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
				t.Fatalf("login: %d %v", resp.StatusCode, body)
			}
		}
		login("203.0.113.10", firefox)
		mails := newDeviceMails(ts)
		if len(mails) != 1 || mails[0].To != "owner@example.com" || !strings.Contains(mails[0].Text, "203.0.113.10") || !strings.Contains(mails[0].Text, "Firefox on Linux") {
			t.Fatalf("first sign-in from a device: %+v", mails)
		}
		login("203.0.113.99", firefox) // same /24 and browser: known
		login("203.0.113.10", firefox)
		if n := len(newDeviceMails(ts)); n != 1 {
			t.Fatalf("a known device was reported: %d notices", n)
		}
		login("203.0.113.10", chrome)   // another browser
		login("198.51.100.10", firefox) // another network
		if n := len(newDeviceMails(ts)); n != 3 {
			t.Fatalf("want notices for a new browser and a new network, got %d", n)
		}
		now = now.Add(gatehouse.KnownDeviceWindow + time.Hour) // not seen for 30 days
		login("203.0.113.10", firefox)
		if n := len(newDeviceMails(ts)); n != 4 {
			t.Fatalf("a device unseen for 30 days must be new again: %d", n)
		}
	})
}

func TestSignupRegistersTheDevice(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Empty: true})
	b := apitest.NewBrowser(t, ts)
	if resp, _ := b.Send("POST", "/api/signup", apitest.SignupBody("grace@example.com", apitest.GoodPassword), false); resp.StatusCode != 201 {
		t.Fatal("signup failed")
	}
	if resp, _ := b.Login("grace@example.com", apitest.GoodPassword); resp.StatusCode != 200 {
		t.Fatal("login failed")
	}
	if n := len(newDeviceMails(ts)); n != 0 {
		t.Fatalf("the signup device was reported as new: %d", n)
	}
}

func TestDeviceFingerprint(t *testing.T) {
	t.Parallel()
	ff := "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
	same := [][2]string{{"192.0.2.1", "192.0.2.254"}, {"2001:db8:1:aaaa::1", "2001:db8:1:bbbb::2"}, {"::ffff:192.0.2.1", "192.0.2.7"}}
	for _, p := range same {
		if gatehouse.DeviceFingerprint(p[0], ff) != gatehouse.DeviceFingerprint(p[1], ff) {
			t.Errorf("%s and %s should be one device", p[0], p[1])
		}
	}
	diff := [][2]string{{"192.0.2.1", "192.0.3.1"}, {"2001:db8:1::1", "2001:db8:2::1"}}
	for _, p := range diff {
		if gatehouse.DeviceFingerprint(p[0], ff) == gatehouse.DeviceFingerprint(p[1], ff) {
			t.Errorf("%s and %s should be two devices", p[0], p[1])
		}
	}
}

// Re-authentication (docs/posthog-compat.md#re-authentication): POST /api/login/ from a browser that already
// holds a live session of the same user renews the session but sends no
// new-device notice, even from a network the user has not used; a live
// session of another user, or an ended one, does not count.
func TestReauthSendsNoNewDeviceNotice(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{Trusted: "127.0.0.1", Behind: true})
		firefox := "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
		b := apitest.NewBrowser(t, ts)
		b.Extra = []string{"X-Forwarded-For", "203.0.113.10", "User-Agent", firefox}
		if resp, _ := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatal("login failed")
		}
		first := b.Cookie(httpauth.SessionCookie)
		// The same browser moves to another network and re-authenticates.
		b.Extra = []string{"X-Forwarded-For", "198.51.100.7", "User-Agent", firefox}
		if resp, body := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatalf("re-auth: %d %v", resp.StatusCode, body)
		}
		if n := len(newDeviceMails(ts)); n != 1 {
			t.Fatalf("re-auth sent a new-device notice: %d notices", n)
		}
		if second := b.Cookie(httpauth.SessionCookie); second == "" || second == first {
			t.Fatal("re-auth must rotate the session id")
		}
		if resp, _ := b.Send("GET", "/api/users/@me", "", false); resp.StatusCode != 200 {
			t.Fatal("the re-authenticated session does not work")
		}

		// Another user's session in the cookie is no re-auth for this one.
		other := apitest.JoinByInvite(t, ts, b, "mallory@example.com", 1)
		other.Extra = []string{"X-Forwarded-For", "192.0.2.50", "User-Agent", firefox}
		if resp, _ := other.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatal("login over another user's session failed")
		}
		if n := len(newDeviceMails(ts)); n != 2 {
			t.Fatalf("a login over another user's session must be a normal login: %d notices", n)
		}
		// An ended session in the cookie is no re-auth either.
		stale := b.Cookie(httpauth.SessionCookie)
		if resp, _ := b.Send("POST", "/api/logout", "", true); resp.StatusCode >= 400 {
			t.Fatalf("logout: %d", resp.StatusCode)
		}
		b.SetCookie(httpauth.SessionCookie, stale)
		b.Extra = []string{"X-Forwarded-For", "100.64.0.9", "User-Agent", firefox}
		if resp, _ := b.Login("owner@example.com", apitest.OwnerPassword); resp.StatusCode != 200 {
			t.Fatal("login failed")
		}
		if n := len(newDeviceMails(ts)); n != 3 {
			t.Fatalf("a login with an ended session must be a normal login: %d notices", n)
		}
	})
}
