package apitest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// idpUser is who signs in at the test identity provider next.
type IdpUser struct {
	Sub      string
	Email    string
	Verified bool
	Name     string
	// ExtraEmails are further GitHub addresses (not primary).
	ExtraEmails []string
}

// testIdP is a real, if small, OAuth2 authorization server and OpenID
// Connect provider running inside the test: discovery, JWKS, an
// authorization endpoint that signs in whoever the test chose, a token
// endpoint that checks the client secret, the redirect URI, PKCE (S256)
// and single use of codes and signs RS256 ID tokens with the nonce, an
// OIDC userinfo endpoint, and stand-ins of GitHub's (/api/user,
// /api/user/emails) and GitLab's (/api/v4/user) REST APIs.
type IdP struct {
	T        *testing.T
	Srv      *httptest.Server
	Key      *rsa.PrivateKey
	ClientID string
	Secret   string

	Mu     sync.Mutex
	Next   IdpUser
	Codes  map[string]*idpCode
	Tokens map[string]IdpUser
	// tokenCalls counts token requests (a refused replay must not reach
	// the provider twice).
	TokenCalls int
	// lastAuthorize is the query of the last authorization request.
	LastAuthorize url.Values
}

func NewIdP(t *testing.T) *IdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &IdP{T: t, Key: key, ClientID: "client-" + RandomHex(4), Secret: "secret-" + RandomHex(8), Codes: map[string]*idpCode{}, Tokens: map[string]IdpUser{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.Discovery)
	mux.HandleFunc("GET /jwks", p.Jwks)
	for _, path := range []string{"/authorize", "/oauth/authorize", "/login/oauth/authorize"} {
		mux.HandleFunc("GET "+path, p.Authorize)
	}
	for _, path := range []string{"/token", "/oauth/token", "/login/oauth/access_token"} {
		mux.HandleFunc("POST "+path, p.Token)
	}
	mux.HandleFunc("GET /userinfo", p.Userinfo)
	mux.HandleFunc("GET /api/user", p.GithubUser)
	mux.HandleFunc("GET /api/user/emails", p.GithubEmails)
	mux.HandleFunc("GET /api/v4/user", p.GitlabUser)
	p.Srv = httptest.NewServer(mux)
	t.Cleanup(p.Srv.Close)
	return p
}

func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*n)
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func (p *IdP) SignInAs(u IdpUser) {
	p.Mu.Lock()
	defer p.Mu.Unlock()
	p.Next = u
}

func (p *IdP) Discovery(w http.ResponseWriter, r *http.Request) {
	u := p.Srv.URL
	httpauth.WriteJSON(w, 200, map[string]any{"issuer": u, "authorization_endpoint": u + "/authorize", "token_endpoint": u + "/token",
		"jwks_uri": u + "/jwks", "userinfo_endpoint": u + "/userinfo", "response_types_supported": []string{"code"},
		"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported": []string{"S256"}})
}

func (p *IdP) Jwks(w http.ResponseWriter, r *http.Request) {
	httpauth.WriteJSON(w, 200, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &p.Key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
}

func (p *IdP) Authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.Mu.Lock()
	defer p.Mu.Unlock()
	p.LastAuthorize = q
	if q.Get("client_id") != p.ClientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" {
		http.Error(w, "bad authorization request", 400)
		return
	}
	code := RandomHex(16)
	p.Codes[code] = &idpCode{user: p.Next, clientID: q.Get("client_id"), redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge"), nonce: q.Get("nonce")}
	target, _ := url.Parse(q.Get("redirect_uri"))
	v := target.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	target.RawQuery = v.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func (p *IdP) Token(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	p.Mu.Lock()
	defer p.Mu.Unlock()
	p.TokenCalls++
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.Secret)) != 1 {
		w.Header().Set("WWW-Authenticate", "Basic")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
		return
	}
	c := p.Codes[r.PostForm.Get("code")]
	delete(p.Codes, r.PostForm.Get("code")) // a code works once
	if c == nil || r.PostForm.Get("grant_type") != "authorization_code" || c.clientID != id || c.redirect != r.PostForm.Get("redirect_uri") {
		tokenError(w, "invalid_grant")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
		tokenError(w, "invalid_grant")
		return
	}
	access := RandomHex(16)
	p.Tokens[access] = c.user
	out := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 3600}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: p.Key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		p.T.Error(err)
		return
	}
	now := time.Now()
	claims := map[string]any{"iss": p.Srv.URL, "aud": p.ClientID, "sub": c.user.Sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"email": c.user.Email, "email_verified": c.user.Verified, "name": c.user.Name}
	if c.nonce != "" {
		claims["nonce"] = c.nonce
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		p.T.Error(err)
		return
	}
	out["id_token"] = raw
	httpauth.WriteJSON(w, 200, out)
}

func (p *IdP) Bearer(w http.ResponseWriter, r *http.Request) (IdpUser, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.Mu.Lock()
	u, known := p.Tokens[tok]
	p.Mu.Unlock()
	if !ok || !known {
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return IdpUser{}, false
	}
	return u, true
}

func (p *IdP) Userinfo(w http.ResponseWriter, r *http.Request) {
	if u, ok := p.Bearer(w, r); ok {
		httpauth.WriteJSON(w, 200, map[string]any{"sub": u.Sub, "email": u.Email, "email_verified": u.Verified, "name": u.Name})
	}
}

func (p *IdP) GithubUser(w http.ResponseWriter, r *http.Request) {
	if u, ok := p.Bearer(w, r); ok {
		// The profile email is public text anyone can set: it claims the
		// victim's address, which must never be believed.
		httpauth.WriteJSON(w, 200, map[string]any{"id": json.Number(u.Sub), "login": "user" + u.Sub, "name": u.Name, "email": "owner@example.com"})
	}
}

func (p *IdP) GithubEmails(w http.ResponseWriter, r *http.Request) {
	if u, ok := p.Bearer(w, r); ok {
		list := []map[string]any{}
		for _, e := range u.ExtraEmails {
			list = append(list, map[string]any{"email": e, "primary": false, "verified": true})
		}
		list = append(list, map[string]any{"email": u.Email, "primary": true, "verified": u.Verified})
		httpauth.WriteJSON(w, 200, list)
	}
}

func (p *IdP) GitlabUser(w http.ResponseWriter, r *http.Request) {
	if u, ok := p.Bearer(w, r); ok {
		var confirmed any
		if u.Verified {
			confirmed = "2024-01-02T03:04:05Z"
		}
		httpauth.WriteJSON(w, 200, map[string]any{"id": json.Number(u.Sub), "username": "user" + u.Sub, "name": u.Name, "email": u.Email, "confirmed_at": confirmed, "state": "active"})
	}
}

type idpCode struct {
	user                          IdpUser
	clientID, redirect, challenge string
	nonce                         string
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(400)
	json.NewEncoder(w).Encode(map[string]string{"error": code})
}
