package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// The kinds of social login provider.
const (
	ProviderGitHub = "github" // GitHub's REST API: /user and /user/emails
	ProviderGitLab = "gitlab" // GitLab's REST API: /api/v4/user
	ProviderOIDC   = "oidc"   // OpenID Connect: discovery, ID token claims
	ProviderOAuth2 = "oauth2" // plain OAuth2 with an OIDC-style userinfo endpoint
)

// SocialProvider is one configured social login backend (docs/posthog-compat.md#social-login).
// A provider is configured only when both its key and its secret are set.
type SocialProvider struct {
	Name         string // backend name in /login/<name>/: google-oauth2, github, gitlab or a custom name
	Kind         string // ProviderGitHub, ProviderGitLab, ProviderOIDC or ProviderOAuth2
	DisplayName  string // shown on the login page
	ClientID     string
	ClientSecret gatehouse.Secret
	// Issuer is the OpenID Connect issuer (discovery) of OIDC providers.
	Issuer string
	// AuthURL and TokenURL override the endpoints (for OIDC, discovery's).
	AuthURL, TokenURL string
	// UserinfoURL is the plain OAuth2 provider's userinfo endpoint.
	UserinfoURL string
	// APIURL is the REST API base of GitHub (https://api.github.com) and
	// GitLab (https://gitlab.com).
	APIURL string
	Scopes []string
	// AllowedDomains (Google's WHITELISTED_DOMAINS) limits sign-in to
	// emails in these domains; empty: any.
	AllowedDomains []string
}

// customName is what a custom provider may be called: it becomes a path
// segment and part of environment variable names.
var customName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func envPrefix(name string) string {
	return "SOCIAL_AUTH_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
}

// socialProviders reads SOCIAL_AUTH_*: the built-in GitHub, GitLab and
// Google providers and SOCIAL_AUTH_CUSTOM_PROVIDERS.
func (p *parser) socialProviders() []SocialProvider {
	var out []SocialProvider
	add := func(sp SocialProvider, prefix string) {
		if sp.ClientID == "" && sp.ClientSecret == "" {
			return
		}
		if sp.ClientID == "" || sp.ClientSecret == "" {
			p.fail(prefix+"KEY", "%sKEY and %sSECRET must be set together", prefix, prefix)
			return
		}
		out = append(out, sp)
	}
	keys := func(prefix string) (string, gatehouse.Secret) {
		return p.str(prefix+"KEY", ""), gatehouse.Secret(p.str(prefix+"SECRET", ""))
	}

	pre := "SOCIAL_AUTH_GITHUB_"
	gh := SocialProvider{Name: "github", Kind: ProviderGitHub, DisplayName: p.str(pre+"DISPLAY_NAME", "GitHub"), Scopes: []string{"user:email"}}
	gh.ClientID, gh.ClientSecret = keys(pre)
	gh.APIURL = p.endpoint(pre+"API_URL", "https://api.github.com")
	gh.AuthURL = p.endpoint(pre+"AUTH_URL", "https://github.com/login/oauth/authorize")
	gh.TokenURL = p.endpoint(pre+"TOKEN_URL", "https://github.com/login/oauth/access_token")
	add(gh, pre)

	pre = "SOCIAL_AUTH_GITLAB_"
	gl := SocialProvider{Name: "gitlab", Kind: ProviderGitLab, DisplayName: p.str(pre+"DISPLAY_NAME", "GitLab"), Scopes: []string{"read_user"}}
	gl.ClientID, gl.ClientSecret = keys(pre)
	gl.APIURL = strings.TrimRight(p.endpoint(pre+"API_URL", "https://gitlab.com"), "/")
	gl.AuthURL = p.endpoint(pre+"AUTH_URL", gl.APIURL+"/oauth/authorize")
	gl.TokenURL = p.endpoint(pre+"TOKEN_URL", gl.APIURL+"/oauth/token")
	add(gl, pre)

	pre = "SOCIAL_AUTH_GOOGLE_OAUTH2_"
	g := SocialProvider{Name: "google-oauth2", Kind: ProviderOIDC, DisplayName: p.str(pre+"DISPLAY_NAME", "Google"), Scopes: []string{"openid", "email", "profile"}}
	g.ClientID, g.ClientSecret = keys(pre)
	g.Issuer = p.endpoint(pre+"ISSUER", "https://accounts.google.com")
	g.AuthURL = p.endpoint(pre+"AUTH_URL", "")
	g.TokenURL = p.endpoint(pre+"TOKEN_URL", "")
	for _, d := range p.list(pre + "WHITELISTED_DOMAINS") {
		g.AllowedDomains = append(g.AllowedDomains, strings.ToLower(d))
	}
	add(g, pre)

	seen := map[string]bool{"github": true, "gitlab": true, "google-oauth2": true, "saml": true}
	for _, raw := range p.list("SOCIAL_AUTH_CUSTOM_PROVIDERS") {
		name := strings.ToLower(raw)
		if !customName.MatchString(name) || len(name) > 28 || seen[name] {
			p.fail("SOCIAL_AUTH_CUSTOM_PROVIDERS", "%q is not a usable provider name: use lower-case letters, digits and dashes (at most 28), not github, gitlab, google-oauth2 or saml, each once", raw)
			continue
		}
		seen[name] = true
		pre := envPrefix(name)
		c := SocialProvider{Name: name, DisplayName: p.str(pre+"DISPLAY_NAME", raw)}
		c.ClientID, c.ClientSecret = keys(pre)
		if c.ClientID == "" || c.ClientSecret == "" {
			p.fail(pre+"KEY", "custom provider %s needs %sKEY and %sSECRET", name, pre, pre)
			continue
		}
		c.Issuer = p.endpoint(pre+"ISSUER", "")
		c.AuthURL = p.endpoint(pre+"AUTH_URL", "")
		c.TokenURL = p.endpoint(pre+"TOKEN_URL", "")
		c.UserinfoURL = p.endpoint(pre+"USERINFO_URL", "")
		c.Scopes = p.list(pre + "SCOPES")
		switch {
		case c.Issuer != "":
			c.Kind = ProviderOIDC
			if len(c.Scopes) == 0 {
				c.Scopes = []string{"openid", "email", "profile"}
			}
		case c.AuthURL != "" && c.TokenURL != "" && c.UserinfoURL != "":
			c.Kind = ProviderOAuth2
			if len(c.Scopes) == 0 {
				c.Scopes = []string{"openid", "email", "profile"}
			}
		default:
			p.fail(pre+"ISSUER", "custom provider %s needs either %sISSUER (OpenID Connect) or all of %sAUTH_URL, %sTOKEN_URL and %sUSERINFO_URL", name, pre, pre, pre, pre)
			continue
		}
		out = append(out, c)
	}
	return out
}

// endpoint reads an absolute http(s) URL, or def when unset.
func (p *parser) endpoint(name, def string) string {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.fail(name, "expected an absolute http:// or https:// URL, got %q", v)
		return def
	}
	return v
}

// SocialProvider returns the configured provider called name.
func (c *Config) SocialProvider(name string) (SocialProvider, bool) {
	for _, sp := range c.SocialProviders {
		if sp.Name == name {
			return sp, true
		}
	}
	return SocialProvider{}, false
}

// SAMLSettings are the instance-wide SAML service-provider settings.
type SAMLSettings struct {
	// Organization is the SP metadata's organization name
	// (SAML_SP_ORGANIZATION, default SITE_URL's host).
	Organization string
	// ContactEmail is the SP metadata's technical and support contact
	// (SAML_SP_CONTACT_EMAIL); empty: no contact is advertised.
	ContactEmail string
	// ClockSkew is how far the IdP's clock may differ from ours
	// (SAML_CLOCK_SKEW, a duration such as 90s or 5m, or seconds; default
	// 2 minutes, at most 10 minutes).
	ClockSkew time.Duration
}

// DefaultSAMLClockSkew is SAML_CLOCK_SKEW's default.
const DefaultSAMLClockSkew = 2 * time.Minute

func (p *parser) samlSettings(site *url.URL) SAMLSettings {
	s := SAMLSettings{Organization: p.str("SAML_SP_ORGANIZATION", site.Hostname()), ContactEmail: p.str("SAML_SP_CONTACT_EMAIL", ""), ClockSkew: DefaultSAMLClockSkew}
	if s.ContactEmail != "" {
		if a, err := mail.ParseAddress(s.ContactEmail); err != nil || a.Address != s.ContactEmail {
			p.fail("SAML_SP_CONTACT_EMAIL", "expected an email address such as it@example.com, got %q", s.ContactEmail)
		}
	}
	if raw := p.str("SAML_CLOCK_SKEW", ""); raw != "" {
		d, err := time.ParseDuration(raw)
		if err != nil {
			var secs int
			if _, serr := fmt.Sscanf(raw, "%d", &secs); serr == nil && fmt.Sprint(secs) == raw {
				d, err = time.Duration(secs)*time.Second, nil
			}
		}
		if err != nil || d <= 0 || d > 10*time.Minute {
			p.fail("SAML_CLOCK_SKEW", "expected a duration from 1s to 10m (such as 90s or 5m) or a number of seconds, got %q", raw)
		} else {
			s.ClockSkew = d
		}
	}
	return s
}
