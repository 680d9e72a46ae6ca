package gatehouse

import (
	"net/url"
	"strings"
	"testing"
)

// The RP ID is SITE_URL's host; the one expected origin keeps the port
// unless it is 80 or 443 (docs/posthog-compat.md#passkeys).
func TestPasskeyRelyingParty(t *testing.T) {
	for _, tc := range []struct{ site, rpID, origin string }{
		{"https://gatehouse.example.com", "gatehouse.example.com", "https://gatehouse.example.com"},
		{"https://Gatehouse.Example.com:443/", "gatehouse.example.com", "https://gatehouse.example.com"},
		{"http://localhost:8000", "localhost", "http://localhost:8000"},
		{"http://auth.example.com:80", "auth.example.com", "http://auth.example.com"},
		{"https://auth.example.com:8443/base", "auth.example.com", "https://auth.example.com:8443"},
	} {
		u, _ := url.Parse(tc.site)
		rpID, origin := PasskeyRelyingParty(u)
		if rpID != tc.rpID || origin != tc.origin {
			t.Errorf("%s: got %s %s, want %s %s", tc.site, rpID, origin, tc.rpID, tc.origin)
		}
	}
	if rpID, _ := PasskeyRelyingParty(nil); rpID != "localhost" {
		t.Errorf("no SITE_URL: %s", rpID)
	}
	if _, err := NewPasskeyService(nil, &url.URL{Scheme: "https", Host: "gatehouse.example.com"}); err != nil {
		t.Fatal(err)
	}
}

func TestPasskeyAuthenticatorType(t *testing.T) {
	for transports, want := range map[string]string{"internal": "platform", "internal,hybrid": "hybrid", "usb": "hardware", "nfc": "hardware", "": "unknown"} {
		p := &Passkey{}
		if transports != "" {
			p.Transports = strings.Split(transports, ",")
		}
		if got := p.AuthenticatorType(); got != want {
			t.Errorf("%q: %s, want %s", transports, got, want)
		}
	}
}
