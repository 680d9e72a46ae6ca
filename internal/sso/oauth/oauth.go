// Package oauth signs people in through OAuth2 and OpenID Connect
// providers (docs/posthog-compat.md#social-login): Google, GitHub, GitLab and custom providers.
// It runs the authorization-code flow with PKCE (S256) and, for OpenID
// Connect, a nonce; it turns what the provider proved into a
// gatehouse.SSOIdentity whose EmailVerified is true only when the
// provider itself vouches for the address.
package oauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// CallTimeout bounds every call to a provider (discovery, token exchange,
// user and email look-ups).
const CallTimeout = 15 * time.Second

// maxBody bounds what is read from a provider's API.
const maxBody = 1 << 20

// BuiltIn are the backend names Gatehouse knows without configuration.
var BuiltIn = []string{"google-oauth2", "github", "gitlab"}

// Registry holds the configured providers by backend name.
type Registry struct {
	byName map[string]*Provider
	order  []*Provider
}

// NewRegistry builds the providers of cfgs; their callbacks are
// <siteURL>/complete/<name>/. client makes the outbound calls (nil: a
// client with CallTimeout).
func NewRegistry(cfgs []config.SocialProvider, siteURL *url.URL, client *http.Client) *Registry {
	if client == nil {
		client = &http.Client{Timeout: CallTimeout}
	}
	r := &Registry{byName: map[string]*Provider{}}
	base := strings.TrimRight(siteURL.String(), "/")
	for _, c := range cfgs {
		p := &Provider{cfg: c, client: client, redirectURL: base + "/complete/" + c.Name + "/"}
		r.byName[c.Name] = p
		r.order = append(r.order, p)
	}
	return r
}

// Get returns the configured provider called name.
func (r *Registry) Get(name string) (*Provider, bool) {
	if r == nil {
		return nil, false
	}
	p, ok := r.byName[name]
	return p, ok
}

// Configured reports whether name is a configured provider; it is what
// DomainService.ProviderConfigured asks.
func (r *Registry) Configured(name string) bool {
	_, ok := r.Get(name)
	return ok
}

// Known reports whether name is a backend Gatehouse knows, configured or
// not (unknown: invalid_sso_provider; known but unconfigured:
// improperly_configured_sso).
func (r *Registry) Known(name string) bool {
	for _, b := range BuiltIn {
		if b == name {
			return true
		}
	}
	return r.Configured(name)
}

// Providers lists the configured providers in configuration order.
func (r *Registry) Providers() []*Provider {
	if r == nil {
		return nil
	}
	return r.order
}

// Provider is one configured backend.
type Provider struct {
	cfg         config.SocialProvider
	client      *http.Client
	redirectURL string

	mu       sync.Mutex
	endpoint oauth2.Endpoint
	verifier *oidc.IDTokenVerifier
	ready    bool
}

// Name is the backend name (/login/<name>/).
func (p *Provider) Name() string { return p.cfg.Name }

// DisplayName is what the login page calls the provider.
func (p *Provider) DisplayName() string { return p.cfg.DisplayName }

// IsOIDC reports whether the provider speaks OpenID Connect (nonce, ID
// token).
func (p *Provider) IsOIDC() bool { return p.cfg.Kind == config.ProviderOIDC }

func (p *Provider) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	return oidc.ClientContext(ctx, p.client), cancel
}

// setup resolves the endpoints, running OpenID Connect discovery the first
// time it succeeds (a provider down at start-up is retried at the next
// sign-in).
func (p *Provider) setup(ctx context.Context) (oauth2.Endpoint, *oidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready {
		return p.endpoint, p.verifier, nil
	}
	ep := oauth2.Endpoint{AuthURL: p.cfg.AuthURL, TokenURL: p.cfg.TokenURL}
	if p.IsOIDC() {
		dctx, cancel := p.ctx(ctx)
		defer cancel()
		op, err := oidc.NewProvider(dctx, p.cfg.Issuer)
		if err != nil {
			var mismatch *oidc.IssuerMismatchError
			if errors.As(err, &mismatch) {
				return ep, nil, &gatehouse.Error{Kind: gatehouse.KindUnavailable, Code: "sso_issuer_mismatch",
					Detail: "The configured issuer does not match the one the provider announces.", Err: err}
			}
			return ep, nil, providerError(fmt.Errorf("oauth: discovery of %s: %w", p.cfg.Name, err))
		}
		disc := op.Endpoint()
		if ep.AuthURL == "" {
			ep.AuthURL = disc.AuthURL
		}
		if ep.TokenURL == "" {
			ep.TokenURL = disc.TokenURL
		}
		p.verifier = op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID})
	}
	p.endpoint, p.ready = ep, true
	return ep, p.verifier, nil
}

func (p *Provider) oauth2Config(ep oauth2.Endpoint) *oauth2.Config {
	return &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret.Reveal(), Endpoint: ep,
		RedirectURL: p.redirectURL, Scopes: p.cfg.Scopes}
}

// Flow is the per-attempt secrets of one round trip: the state that
// comes back on the callback, the PKCE verifier and the OIDC nonce.
type Flow struct {
	State, Verifier, Nonce string
}

// NewFlow returns fresh random flow secrets.
func NewFlow() Flow {
	return Flow{State: random(), Verifier: oauth2.GenerateVerifier(), Nonce: random()}
}

func random() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("oauth: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuthCodeURL is where the browser goes to sign in at the provider.
// loginHint (an email) is passed on when set.
func (p *Provider) AuthCodeURL(ctx context.Context, f Flow, loginHint string) (string, error) {
	ep, _, err := p.setup(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(f.Verifier)}
	if p.IsOIDC() {
		opts = append(opts, oidc.Nonce(f.Nonce))
	}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	return p.oauth2Config(ep).AuthCodeURL(f.State, opts...), nil
}

func providerError(err error) *gatehouse.Error {
	return &gatehouse.Error{Kind: gatehouse.KindUnavailable, Code: "sso_provider_error", Detail: "The identity provider could not be reached or gave an unusable answer.", Err: err}
}

func invalidResponse(err error) *gatehouse.Error {
	return &gatehouse.Error{Kind: gatehouse.KindInvalid, Code: "invalid_sso_response", Detail: "The identity provider's answer could not be verified.", Err: err}
}

// Exchange redeems the authorization code (with the flow's PKCE
// verifier) and returns the identity the provider asserts. A code the
// provider refuses (used, expired, another client's) is invalid_code.
func (p *Provider) Exchange(ctx context.Context, f Flow, code string) (gatehouse.SSOIdentity, error) {
	ep, verifier, err := p.setup(ctx)
	if err != nil {
		return gatehouse.SSOIdentity{}, err
	}
	cctx, cancel := p.ctx(ctx)
	defer cancel()
	tok, err := p.oauth2Config(ep).Exchange(cctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		return gatehouse.SSOIdentity{}, exchangeError(err)
	}
	var id gatehouse.SSOIdentity
	switch p.cfg.Kind {
	case config.ProviderOIDC:
		id, err = p.fromIDToken(cctx, verifier, tok, f.Nonce)
	case config.ProviderGitHub:
		id, err = p.fromGitHub(cctx, tok)
	case config.ProviderGitLab:
		id, err = p.fromGitLab(cctx, tok)
	default:
		var u userinfo
		if err = p.getJSON(cctx, tok, p.cfg.UserinfoURL, &u); err == nil {
			id = u.identity()
		}
	}
	if err != nil {
		return gatehouse.SSOIdentity{}, err
	}
	id.Backend = p.cfg.Name
	if id.UID == "" {
		return gatehouse.SSOIdentity{}, invalidResponse(errors.New("oauth: no subject"))
	}
	if len(p.cfg.AllowedDomains) > 0 && !allowedDomain(id.Email, p.cfg.AllowedDomains) {
		return gatehouse.SSOIdentity{}, &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "domain_not_allowed",
			Detail: "Sign-in with this email domain is not allowed on this instance."}
	}
	return id, nil
}

// TokenError is the provider's refusal at its token endpoint: the HTTP
// status and the OAuth2 error and error_description it sent (never the
// rest of the body).
type TokenError struct {
	Status            int
	Code, Description string
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("oauth: the token endpoint answered %d, error %q: %q", e.Status, e.Code, e.Description)
}

// exchangeError tells apart why a code could not be redeemed: Gatehouse's
// client credentials refused (sso_client_rejected), the code refused
// (invalid_code), the request refused otherwise (sso_request_rejected), or
// the provider unreachable or failing (sso_provider_error).
func exchangeError(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response == nil {
		return providerError(fmt.Errorf("oauth: exchanging the code: %w", err))
	}
	te := &TokenError{Status: re.Response.StatusCode, Code: clipText(re.ErrorCode, 100), Description: clipText(re.ErrorDescription, 300)}
	switch {
	case te.Code == "invalid_client" || te.Code == "unauthorized_client" || te.Status == http.StatusUnauthorized:
		return &gatehouse.Error{Kind: gatehouse.KindInvalid, Code: "sso_client_rejected",
			Detail: "The identity provider refused Gatehouse's client ID or secret.", Err: te}
	case te.Code == "invalid_grant":
		return &gatehouse.Error{Kind: gatehouse.KindInvalid, Code: "invalid_code",
			Detail: "The sign-in code was refused by the identity provider: it may have been used already or expired.", Err: te}
	case te.Status/100 == 4:
		return &gatehouse.Error{Kind: gatehouse.KindInvalid, Code: "sso_request_rejected",
			Detail: "The identity provider refused Gatehouse's token request.", Err: te}
	}
	return providerError(te)
}

// clipText bounds text a provider sent before it reaches a log line.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func allowedDomain(email string, allowed []string) bool {
	_, host, ok := strings.Cut(email, "@")
	if !ok {
		return false
	}
	for _, d := range allowed {
		if strings.EqualFold(host, d) {
			return true
		}
	}
	return false
}

// userinfo is the OpenID Connect standard claims, as ID tokens and
// userinfo endpoints carry them.
type userinfo struct {
	Sub           string          `json:"sub"`
	ID            json.Number     `json:"id"` // plain OAuth2 providers without sub
	Email         string          `json:"email"`
	EmailVerified json.RawMessage `json:"email_verified"`
	Name          string          `json:"name"`
	GivenName     string          `json:"given_name"`
	FamilyName    string          `json:"family_name"`
}

// verified reads email_verified, which some providers send as a string:
// only an explicit true counts.
func (u userinfo) verified() bool {
	var b bool
	if json.Unmarshal(u.EmailVerified, &b) == nil {
		return b
	}
	var s string
	return json.Unmarshal(u.EmailVerified, &s) == nil && strings.EqualFold(s, "true")
}

func (u userinfo) identity() gatehouse.SSOIdentity {
	uid := u.Sub
	if uid == "" {
		uid = u.ID.String()
	}
	return gatehouse.SSOIdentity{UID: uid, Email: strings.TrimSpace(u.Email), EmailVerified: u.verified() && u.Email != "",
		FirstName: u.GivenName, LastName: u.FamilyName, FullName: u.Name}
}

func (p *Provider) fromIDToken(ctx context.Context, v *oidc.IDTokenVerifier, tok *oauth2.Token, nonce string) (gatehouse.SSOIdentity, error) {
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" || v == nil {
		return gatehouse.SSOIdentity{}, invalidResponse(errors.New("oauth: no id_token"))
	}
	idt, err := v.Verify(ctx, raw)
	if err != nil {
		return gatehouse.SSOIdentity{}, invalidResponse(fmt.Errorf("oauth: id_token: %w", err))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 || nonce == "" {
		return gatehouse.SSOIdentity{}, invalidResponse(errors.New("oauth: id_token nonce mismatch"))
	}
	var u userinfo
	if err := idt.Claims(&u); err != nil {
		return gatehouse.SSOIdentity{}, invalidResponse(fmt.Errorf("oauth: id_token claims: %w", err))
	}
	u.Sub = idt.Subject
	return u.identity(), nil
}

func (p *Provider) getJSON(ctx context.Context, tok *oauth2.Token, endpoint string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return providerError(err)
	}
	req.Header.Set("Accept", "application/json")
	tok.SetAuthHeader(req)
	resp, err := p.client.Do(req)
	if err != nil {
		return providerError(fmt.Errorf("oauth: GET %s: %w", endpoint, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return providerError(fmt.Errorf("oauth: GET %s: %s", endpoint, resp.Status))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return providerError(fmt.Errorf("oauth: GET %s: %w", endpoint, err))
	}
	return nil
}

// fromGitHub reads /user for the id and names and /user/emails for the
// primary address, which counts only when GitHub marks it verified.
// /user's own email is public profile text and never trusted.
func (p *Provider) fromGitHub(ctx context.Context, tok *oauth2.Token) (gatehouse.SSOIdentity, error) {
	api := strings.TrimRight(p.cfg.APIURL, "/")
	var u struct {
		ID    int64  `json:"id"`
		Login string `json:"login"`
		Name  string `json:"name"`
	}
	if err := p.getJSON(ctx, tok, api+"/user", &u); err != nil {
		return gatehouse.SSOIdentity{}, err
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := p.getJSON(ctx, tok, api+"/user/emails", &emails); err != nil {
		return gatehouse.SSOIdentity{}, err
	}
	id := gatehouse.SSOIdentity{FullName: u.Name}
	if u.ID != 0 {
		id.UID = strconv.FormatInt(u.ID, 10)
	}
	if id.FullName == "" {
		id.FullName = u.Login
	}
	for _, e := range emails {
		if e.Primary {
			id.Email, id.EmailVerified = strings.TrimSpace(e.Email), e.Verified
		}
	}
	return id, nil
}

// fromGitLab reads /api/v4/user: the email counts as verified only when
// GitLab says the account's email is confirmed.
func (p *Provider) fromGitLab(ctx context.Context, tok *oauth2.Token) (gatehouse.SSOIdentity, error) {
	var u struct {
		ID          int64   `json:"id"`
		Username    string  `json:"username"`
		Name        string  `json:"name"`
		Email       string  `json:"email"`
		ConfirmedAt *string `json:"confirmed_at"`
		State       string  `json:"state"`
	}
	if err := p.getJSON(ctx, tok, strings.TrimRight(p.cfg.APIURL, "/")+"/api/v4/user", &u); err != nil {
		return gatehouse.SSOIdentity{}, err
	}
	id := gatehouse.SSOIdentity{FullName: u.Name, Email: strings.TrimSpace(u.Email)}
	if u.ID != 0 {
		id.UID = strconv.FormatInt(u.ID, 10)
	}
	if id.FullName == "" {
		id.FullName = u.Username
	}
	id.EmailVerified = id.Email != "" && u.ConfirmedAt != nil && *u.ConfirmedAt != "" && (u.State == "" || u.State == "active")
	return id, nil
}
