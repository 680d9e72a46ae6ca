package httpauth

import (
	"context"
	"testing"
)

func TestTwoFactorExemptPaths(t *testing.T) {
	for p, want := range map[string]bool{
		"/api/users/@me": true, "/api/users/@me/": true, "/api/users/@me/two_factor_validate/": true, "/static/gatehouse.css": true,
		"/api/signup/abc": true, "/login/github/": true, "/_health": true,
		"/api/users/@me/login_sessions": false, "/api/users/@me/two_factor_statusx": false, "/api/organizations/@current": false,
		"/staticx": false, "/api/users/@meh": false,
	} {
		if got := twoFactorExemptPath(p); got != want {
			t.Errorf("%s exempt = %v, want %v", p, got, want)
		}
	}
	_ = context.Background
}
