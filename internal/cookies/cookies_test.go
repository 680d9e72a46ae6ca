package cookies

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func setCookieHeader(t *testing.T, p Policy, o Options, clear bool) string {
	t.Helper()
	rec := httptest.NewRecorder()
	if clear {
		p.Clear(rec, "sessionid", o)
	} else {
		p.Set(rec, "sessionid", "abc", o)
	}
	h := rec.Header().Values("Set-Cookie")
	if len(h) != 1 {
		t.Fatalf("want one Set-Cookie, got %q", h)
	}
	return h[0]
}

func TestCookieFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  Policy
		opts    Options
		clear   bool
		want    []string
		notWant []string
	}{
		{"secure default", Policy{Secure: true}, Options{}, false,
			[]string{"sessionid=abc", "Path=/", "HttpOnly", "Secure", "SameSite=Lax"}, []string{"Max-Age"}},
		{"insecure dev", Policy{Secure: false}, Options{}, false,
			[]string{"HttpOnly", "SameSite=Lax"}, []string{"Secure"}},
		{"script readable csrf", Policy{Secure: true}, Options{ReadableByScript: true}, false,
			[]string{"Secure"}, []string{"HttpOnly"}},
		{"strict with age", Policy{Secure: true}, Options{SameSite: http.SameSiteStrictMode, MaxAge: 30 * 24 * time.Hour}, false,
			[]string{"SameSite=Strict", "Max-Age=2592000", "Expires="}, nil},
		{"clear", Policy{Secure: true}, Options{}, true,
			[]string{"sessionid=;", "Max-Age=0", "Secure", "HttpOnly"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := setCookieHeader(t, tc.policy, tc.opts, tc.clear)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q lacks %q", got, w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("%q should not contain %q", got, w)
				}
			}
		})
	}
}
