package httpapi

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/mail"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func newDeviceMails(ts *testServer) []mail.Message {
	var out []mail.Message
	for _, m := range ts.mail.messages() {
		if m.Subject == "A new device logged into your account" {
			out = append(out, m)
		}
	}
	return out
}

func TestNewDeviceNotice(t *testing.T) {
	forEachEngine(t, func(t *testing.T, engine store.Engine) {
		now := time.Now()
		ts := newTestServer(t, engine, serverOptions{trusted: "127.0.0.1", behind: true, now: func() time.Time { return now }})
		firefox := "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
		chrome := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36"
		login := func(ip, ua string) {
			t.Helper()
			b := newBrowser(t, ts)
			b.extra = []string{"X-Forwarded-For", ip, "User-Agent", ua}
			if resp, body := b.login("owner@example.com", ownerPassword); resp.StatusCode != 200 {
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
	ts := newTestServer(t, store.SQLite, serverOptions{empty: true})
	b := newBrowser(t, ts)
	if resp, _ := b.send("POST", "/api/signup", signupBody("grace@example.com", goodPassword), false); resp.StatusCode != 201 {
		t.Fatal("signup failed")
	}
	if resp, _ := b.login("grace@example.com", goodPassword); resp.StatusCode != 200 {
		t.Fatal("login failed")
	}
	if n := len(newDeviceMails(ts)); n != 0 {
		t.Fatalf("the signup device was reported as new: %d", n)
	}
}

func TestDeviceFingerprint(t *testing.T) {
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
