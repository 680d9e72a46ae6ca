package config

import (
	"strings"
	"testing"
)

func TestEmailMFAEnabled(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want bool
	}{
		{nil, false},
		{[]string{"EMAIL_HOST", "smtp.example.com"}, true},
		{[]string{"EMAIL_HOST", "smtp.example.com", "EMAIL_MFA_ENABLED", "false"}, false},
		{[]string{"EMAIL_HOST", "smtp.example.com", "EMAIL_MFA_ENABLED", "1"}, true},
	} {
		c, err := Load(env(tc.env...))
		if err != nil {
			t.Fatalf("%v: %v", tc.env, err)
		}
		if c.EmailMFAEnabled != tc.want {
			t.Errorf("%v: EmailMFAEnabled = %v, want %v", tc.env, c.EmailMFAEnabled, tc.want)
		}
	}
	_, err := Load(env("EMAIL_MFA_ENABLED", "true"))
	if err == nil || !strings.Contains(err.Error(), "EMAIL_MFA_ENABLED") || !strings.Contains(err.Error(), "EMAIL_HOST") {
		t.Fatalf("email MFA without email: %v", err)
	}
	if _, err := Load(env("EMAIL_MFA_ENABLED", "perhaps")); err == nil || !strings.Contains(err.Error(), "EMAIL_MFA_ENABLED") {
		t.Fatalf("unparsable EMAIL_MFA_ENABLED: %v", err)
	}
}
