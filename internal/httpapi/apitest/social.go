package apitest

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

const TestSiteURL = "https://gatehouse.example.com"

// socialProviders configures every kind of provider against idp.
func SocialProviders(idp *IdP) []config.SocialProvider {
	base := config.SocialProvider{ClientID: idp.ClientID, ClientSecret: gatehouse.Secret(idp.Secret)}
	gh, gl, google, custom, plain := base, base, base, base, base
	gh.Name, gh.Kind, gh.DisplayName, gh.APIURL, gh.AuthURL, gh.TokenURL = "github", config.ProviderGitHub, "GitHub", idp.Srv.URL+"/api", idp.Srv.URL+"/login/oauth/authorize", idp.Srv.URL+"/login/oauth/access_token"
	gh.Scopes = []string{"user:email"}
	gl.Name, gl.Kind, gl.DisplayName, gl.APIURL, gl.AuthURL, gl.TokenURL = "gitlab", config.ProviderGitLab, "GitLab", idp.Srv.URL, idp.Srv.URL+"/oauth/authorize", idp.Srv.URL+"/oauth/token"
	google.Name, google.Kind, google.DisplayName, google.Issuer = "google-oauth2", config.ProviderOIDC, "Google", idp.Srv.URL
	google.Scopes = []string{"openid", "email", "profile"}
	custom.Name, custom.Kind, custom.DisplayName, custom.Issuer = "acme-sso", config.ProviderOIDC, "Acme SSO", idp.Srv.URL
	custom.Scopes = google.Scopes
	plain.Name, plain.Kind, plain.DisplayName = "plain", config.ProviderOAuth2, "Plain"
	plain.AuthURL, plain.TokenURL, plain.UserinfoURL = idp.Srv.URL+"/authorize", idp.Srv.URL+"/token", idp.Srv.URL+"/userinfo"
	return []config.SocialProvider{gh, gl, google, custom, plain}
}

// get requests an absolute URL (Gatehouse's own public URL is mapped to
// the test server) without following redirects.
func (b *Browser) Get(raw string) *http.Response {
	b.T.Helper()
	raw = strings.Replace(raw, TestSiteURL, b.Ts.URL, 1)
	if strings.HasPrefix(raw, "/") {
		raw = b.Ts.URL + raw
	}
	resp, err := b.Client.Get(raw)
	if err != nil {
		b.T.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// socialRound starts at start (a Gatehouse path), signs in at the IdP and
// returns the callback URL the IdP sent the browser to.
func (b *Browser) SocialRound(start string) string {
	b.T.Helper()
	resp := b.Get(start)
	if resp.StatusCode != http.StatusFound {
		b.T.Fatalf("begin %s: %d %s", start, resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = b.Get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound {
		b.T.Fatalf("authorize: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

// socialLogin runs a whole round trip and returns where Gatehouse sent the
// browser at the end.
func (b *Browser) SocialLogin(start string) string {
	b.T.Helper()
	resp := b.Get(b.SocialRound(start))
	if resp.StatusCode != http.StatusFound {
		b.T.Fatalf("complete: %d", resp.StatusCode)
	}
	return resp.Header.Get("Location")
}

func WantLocation(t *testing.T, got, want string) {
	t.Helper()
	// A failure names its provider; compare without it unless want does.
	if i := strings.Index(got, "&provider="); i >= 0 && !strings.Contains(want, "provider=") {
		got = got[:i]
	}
	if got != want {
		t.Fatalf("redirected to %q, want %q", got, want)
	}
}

func VerifyDomain(t *testing.T, ts *Server, domain string, jit bool, enforce string) {
	t.Helper()
	ctx := context.Background()
	d, err := ts.Store.DomainByName(ctx, domain)
	if err != nil {
		d = &gatehouse.OrganizationDomain{ID: gatehouse.NewUUID(), OrganizationID: ts.User.CurrentOrganizationID, Domain: domain, VerificationChallenge: "c", CreatedAt: time.Now()}
		if err := ts.Store.CreateDomain(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	d.VerifiedAt, d.JITProvisioningEnabled, d.SSOEnforcement = &now, jit, enforce
	if err := ts.Store.UpdateDomain(ctx, d); err != nil {
		t.Fatal(err)
	}
}

func (b *Browser) Me() (int, string) {
	resp, body := b.Send("GET", "/api/users/@me/", "", false)
	email, _ := body["email"].(string)
	return resp.StatusCode, email
}

func MustQuery(t *testing.T, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}
