package config

import (
	"strings"
	"testing"
	"time"
)

// Browsers send Secure cookies to http://localhost and loopback
// addresses: the warning is only for other http hosts.
func TestSecureCookieWarningSparesLoopback(t *testing.T) {
	for site, warned := range map[string]bool{
		"http://localhost:8000": false, "http://127.0.0.1:8000": false, "http://[::1]:8000": false, "http://app.localhost": false,
		"http://gatehouse.example.com": true, "http://192.168.1.10:8000": true, "https://gatehouse.example.com": false,
	} {
		c, err := Load(env("SITE_URL", site))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(strings.Join(c.Warnings(), "\n"), "SECURE_COOKIES is true but SITE_URL is http://")
		if got != warned {
			t.Errorf("%s: warned %v, want %v (%q)", site, got, warned, c.Warnings())
		}
	}
}

// SAML service-provider settings: the organization defaults to the site's
// host, the contact must be an address, the clock skew is a bounded
// duration (or seconds), default 2 minutes. Built-in providers take a
// display name too.
func TestSAMLSettingsAndDisplayNames(t *testing.T) {
	c, err := Load(env("SITE_URL", "https://auth.acme.example"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SAML.Organization != "auth.acme.example" || c.SAML.ContactEmail != "" || c.SAML.ClockSkew != 2*time.Minute {
		t.Fatalf("defaults: %+v", c.SAML)
	}
	c, err = Load(env("SAML_SP_ORGANIZATION", "Acme Auth", "SAML_SP_CONTACT_EMAIL", "it@acme.example", "SAML_CLOCK_SKEW", "90s"))
	if err != nil || c.SAML.Organization != "Acme Auth" || c.SAML.ContactEmail != "it@acme.example" || c.SAML.ClockSkew != 90*time.Second {
		t.Fatalf("set: %+v %v", c.SAML, err)
	}
	if c, err := Load(env("SAML_CLOCK_SKEW", "300")); err != nil || c.SAML.ClockSkew != 5*time.Minute {
		t.Fatalf("seconds: %v %v", c, err)
	}
	for _, bad := range [][]string{{"SAML_CLOCK_SKEW", "0"}, {"SAML_CLOCK_SKEW", "1h"}, {"SAML_CLOCK_SKEW", "soon"}, {"SAML_SP_CONTACT_EMAIL", "IT <it@acme.example>"}} {
		if _, err := Load(env(bad...)); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s=%s: %v", bad[0], bad[1], err)
		}
	}
	c, err = Load(env("SOCIAL_AUTH_GOOGLE_OAUTH2_KEY", "k", "SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET", "s", "SOCIAL_AUTH_GOOGLE_OAUTH2_DISPLAY_NAME", "Dex",
		"SOCIAL_AUTH_GITHUB_KEY", "k", "SOCIAL_AUTH_GITHUB_SECRET", "s"))
	if err != nil {
		t.Fatal(err)
	}
	if g, _ := c.SocialProvider("google-oauth2"); g.DisplayName != "Dex" {
		t.Errorf("google display name: %q", g.DisplayName)
	}
	if gh, _ := c.SocialProvider("github"); gh.DisplayName != "GitHub" {
		t.Errorf("github display name: %q", gh.DisplayName)
	}
}
