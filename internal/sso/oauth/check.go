package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// checkTimeout bounds the start-up fetch of one discovery document.
const checkTimeout = 5 * time.Second

// CheckIssuers looks at every configured OpenID Connect issuer at
// start-up and returns a warning for each one that will fail at sign-in:
// an issuer that is not an absolute https URL (http only on loopback),
// carries a query or fragment, or, when its discovery document can be
// fetched, differs from the issuer the document announces (ID tokens must
// name the issuer exactly, trailing slash included). An unreachable
// provider is reported too; it is asked again at the first sign-in.
func (r *Registry) CheckIssuers(ctx context.Context) []string {
	var out []string
	for _, p := range r.Providers() {
		if !p.IsOIDC() {
			continue
		}
		out = append(out, p.checkIssuer(ctx)...)
	}
	return out
}

func issuerSetting(name string) string {
	return "SOCIAL_AUTH_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_ISSUER"
}

func (p *Provider) checkIssuer(ctx context.Context) []string {
	iss, setting := p.cfg.Issuer, issuerSetting(p.cfg.Name)
	u, err := url.Parse(iss)
	if err != nil || u.Host == "" {
		return []string{fmt.Sprintf("%s=%q is not an absolute URL: sign-in with %s will fail", setting, iss, p.Name())}
	}
	var warns []string
	if u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname())) {
		warns = append(warns, fmt.Sprintf("%s=%q: an OpenID Connect issuer must be https (http only on loopback)", setting, iss))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		warns = append(warns, fmt.Sprintf("%s=%q: an issuer has no query or fragment", setting, iss))
	}
	announced, err := p.discoveredIssuer(ctx)
	switch {
	case err != nil:
		warns = append(warns, fmt.Sprintf("%s: the discovery document of %s could not be read (%v); it is tried again at the first sign-in", setting, iss, err))
	case announced != iss:
		warns = append(warns, fmt.Sprintf("%s=%q but the provider announces the issuer %q: sign-in with %s will fail until %s is exactly %q", setting, iss, announced, p.Name(), setting, announced))
	}
	return warns
}

// discoveredIssuer fetches <issuer>/.well-known/openid-configuration and
// returns the issuer it announces.
func (p *Provider) discoveredIssuer(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(p.cfg.Issuer, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(&doc); err != nil {
		return "", fmt.Errorf("not JSON: %w", err)
	}
	return doc.Issuer, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
