package oauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/config"
)

// TestCheckIssuers: an issuer that differs from the one its discovery
// document announces (here by a trailing slash) is reported at start-up,
// with the setting to change and the exact value; a matching one is not.
func TestCheckIssuers(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"` + srv.URL + `"}`))
	}))
	defer srv.Close()
	site, _ := url.Parse("https://gatehouse.example.com")
	for _, tc := range []struct {
		issuer string
		want   string // "" = no warning
	}{
		{srv.URL, ""},
		{srv.URL + "/", `SOCIAL_AUTH_DEX_ISSUER="` + srv.URL + `/" but the provider announces the issuer "` + srv.URL + `"`},
		{"http://idp.example.com", "must be https"},
		{srv.URL + "?tenant=1", "no query or fragment"},
	} {
		reg := NewRegistry([]config.SocialProvider{{Name: "dex", Kind: config.ProviderOIDC, Issuer: tc.issuer}}, site, nil)
		warns := strings.Join(reg.CheckIssuers(context.Background()), "\n")
		if tc.want == "" && warns != "" || !strings.Contains(warns, tc.want) {
			t.Errorf("issuer %q: warnings %q, want %q", tc.issuer, warns, tc.want)
		}
	}
}
