package apitest

import (
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

const LockedDetail = "Too many failed login attempts. Please try again in 30 minutes."

func AssertLocked(t *testing.T, b *Browser, pw string) {
	t.Helper()
	resp, body := b.Login("owner@example.com", pw)
	if resp.StatusCode != 403 || body["code"] != "too_many_failed_attempts" || body["detail"] != LockedDetail || body["type"] != "authentication_error" {
		t.Fatalf("want the lockout, got %d %v", resp.StatusCode, body)
	}
}

func StoretestSuffix(t *testing.T) string {
	t.Helper()
	return ratelimit.Key("t", t.Name())[2:14]
}
