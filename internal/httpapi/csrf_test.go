package httpapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
)

func TestCrossOriginRules(t *testing.T) {
	t.Parallel()
	site := apitest.MustURL("https://auth.example.com")
	for _, tc := range []struct {
		method, origin, fetchSite string
		ok                        bool
	}{
		{"GET", "https://evil.example", "cross-site", true}, // safe methods are never refused
		{"POST", "", "", true},
		{"POST", "https://auth.example.com", "", true},
		{"POST", "https://AUTH.example.com:443", "", true},
		{"POST", "https://auth.example.com", "same-origin", true},
		{"POST", "", "same-origin", true},
		{"POST", "", "none", true},
		{"POST", "http://auth.example.com", "", false},
		{"POST", "https://auth.example.com:444", "", false},
		{"POST", "https://sub.auth.example.com", "same-site", false},
		{"POST", "null", "", false},
		{"POST", "https://user@auth.example.com", "", false},
		{"POST", "https://auth.example.com/", "", false},
		{"POST", "", "cross-site", false},
		{"POST", "", "same-site", false},
		{"DELETE", "https://evil.example", "", false},
	} {
		r := httptest.NewRequest(tc.method, "https://auth.example.com/api/login/", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.fetchSite != "" {
			r.Header.Set("Sec-Fetch-Site", tc.fetchSite)
		}
		if got := httpauth.CrossOrigin(r, site) == nil; got != tc.ok {
			t.Errorf("%s Origin=%q Sec-Fetch-Site=%q: allowed %v, want %v", tc.method, tc.origin, tc.fetchSite, got, tc.ok)
		}
	}
	// Without a SITE_URL, the Host the request was sent to is the origin.
	r := httptest.NewRequest("POST", "http://127.0.0.1:8000/api/login/", nil)
	r.Header.Set("Origin", "http://127.0.0.1:8000")
	if httpauth.CrossOrigin(r, nil) != nil {
		t.Error("same host refused without a SITE_URL")
	}
	r.Header.Set("Origin", "http://127.0.0.1:8001")
	if httpauth.CrossOrigin(r, nil) == nil {
		t.Error("other port accepted without a SITE_URL")
	}
}
