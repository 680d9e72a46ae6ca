package config

import (
	"strings"
	"testing"
)

func TestSocialProviders(t *testing.T) {
	c, err := Load(env(
		"SOCIAL_AUTH_GITHUB_KEY", "gh-id", "SOCIAL_AUTH_GITHUB_SECRET", "gh-secret", "SOCIAL_AUTH_GITHUB_API_URL", "https://ghe.example/api/v3",
		"SOCIAL_AUTH_GITLAB_KEY", "gl-id", "SOCIAL_AUTH_GITLAB_SECRET", "gl-secret", "SOCIAL_AUTH_GITLAB_API_URL", "https://git.example/",
		"SOCIAL_AUTH_CUSTOM_PROVIDERS", "Okta, corp-oauth",
		"SOCIAL_AUTH_OKTA_KEY", "o", "SOCIAL_AUTH_OKTA_SECRET", "os", "SOCIAL_AUTH_OKTA_ISSUER", "https://okta.example",
		"SOCIAL_AUTH_CORP_OAUTH_KEY", "c", "SOCIAL_AUTH_CORP_OAUTH_SECRET", "cs",
		"SOCIAL_AUTH_CORP_OAUTH_AUTH_URL", "https://corp.example/auth", "SOCIAL_AUTH_CORP_OAUTH_TOKEN_URL", "https://corp.example/token",
		"SOCIAL_AUTH_CORP_OAUTH_USERINFO_URL", "https://corp.example/me",
	))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range c.SocialProviders {
		names = append(names, p.Name+"/"+p.Kind)
	}
	if got := strings.Join(names, ","); got != "github/github,gitlab/gitlab,okta/oidc,corp-oauth/oauth2" {
		t.Fatalf("providers: %s", got)
	}
	gh, _ := c.SocialProvider("github")
	if gh.APIURL != "https://ghe.example/api/v3" || gh.AuthURL != "https://github.com/login/oauth/authorize" || gh.ClientSecret.Reveal() != "gh-secret" {
		t.Fatalf("github: %+v", gh)
	}
	gl, _ := c.SocialProvider("gitlab")
	if gl.AuthURL != "https://git.example/oauth/authorize" || gl.TokenURL != "https://git.example/oauth/token" {
		t.Fatalf("gitlab endpoints follow SOCIAL_AUTH_GITLAB_API_URL: %+v", gl)
	}
	if _, ok := c.SocialProvider("google-oauth2"); ok {
		t.Fatal("google configured without keys")
	}

	for _, bad := range [][]string{
		{"SOCIAL_AUTH_GITHUB_KEY", "only-the-key"},
		{"SOCIAL_AUTH_GOOGLE_OAUTH2_KEY", "k", "SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET", "s", "SOCIAL_AUTH_GOOGLE_OAUTH2_ISSUER", "not a url"},
		{"SOCIAL_AUTH_CUSTOM_PROVIDERS", "github"},
		{"SOCIAL_AUTH_CUSTOM_PROVIDERS", "x", "SOCIAL_AUTH_X_KEY", "k", "SOCIAL_AUTH_X_SECRET", "s", "SOCIAL_AUTH_X_AUTH_URL", "https://x.example/a"},
		{"SOCIAL_AUTH_CUSTOM_PROVIDERS", "bad/name"},
	} {
		if _, err := Load(env(bad...)); err == nil || !strings.Contains(err.Error(), "SOCIAL_AUTH_") {
			t.Errorf("%v: %v, want an error naming the variable", bad, err)
		}
	}
}
