package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/sso/oauth"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// realOIDC is panva's oidc-provider (testdata/oidc-provider), a real
// OpenID Connect provider run by node on a loopback port.
type realOIDC struct {
	t        *testing.T
	issuer   string
	clientID string
	secret   string
}

const oidcProviderDir = "testdata/oidc-provider"

// startRealOIDC runs provider.mjs, or skips (fails when
// GATEHOUSE_TEST_REQUIRE lists oidc).
func startRealOIDC(t *testing.T) *realOIDC {
	t.Helper()
	install := "install Node.js and the provider: cd internal/httpapi/web/" + oidcProviderDir + " && npm ci"
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "oidc", "node is not on PATH; "+install)
	}
	if _, err := os.Stat(filepath.Join(oidcProviderDir, "node_modules", "oidc-provider", "package.json")); err != nil {
		testenv.Unavailable(t, "oidc", oidcProviderDir+"/node_modules/oidc-provider is missing; "+install)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	p := &realOIDC{t: t, clientID: "gatehouse-" + apitest.RandomHex(4), secret: "secret-" + apitest.RandomHex(16)}
	cfg, _ := json.Marshal(map[string]any{"port": port, "client_id": p.clientID, "client_secret": p.secret,
		"redirect_uri": apitest.TestSiteURL + "/complete/dex/"})
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "provider.mjs")
	cmd.Dir = oidcProviderDir
	cmd.Env = append(os.Environ(), "GATEHOUSE_OIDC="+string(cfg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	var ready struct{ Issuer string }
	if err != nil || json.Unmarshal([]byte(line), &ready) != nil || ready.Issuer == "" {
		t.Fatalf("oidc-provider did not start: %v %q\n%s", err, line, stderr.String())
	}
	p.issuer = ready.Issuer
	return p
}

func (p *realOIDC) post(path string, v any) {
	p.t.Helper()
	raw, _ := json.Marshal(v)
	resp, err := http.Post(p.issuer+path, "application/json", bytes.NewReader(raw))
	if err != nil || resp.StatusCode != 200 {
		p.t.Fatalf("%s: %v %v", path, resp, err)
	}
	resp.Body.Close()
}

// next chooses who signs in at the provider next.
func (p *realOIDC) next(sub string, claims map[string]any) {
	p.post("/_test/next", map[string]any{"sub": sub, "claims": claims})
}

// deny makes the next person at the provider refuse.
func (p *realOIDC) deny() {
	p.post("/_test/next", map[string]any{"sub": "x", "deny": true, "claims": map[string]any{}})
}

func (p *realOIDC) provider(secret string) config.SocialProvider {
	return config.SocialProvider{Name: "dex", Kind: config.ProviderOIDC, DisplayName: "Dex", ClientID: p.clientID,
		ClientSecret: gatehouse.Secret(secret), Issuer: p.issuer, Scopes: []string{"openid", "email", "profile"}}
}

// A real OpenID Connect provider (oidc-provider, not written here) against
// Gatehouse: discovery, PKCE (the provider requires it) and nonce, a
// verified email links the account, an unverified one is refused, a user
// who denies is told so, a rotated signing key is picked up, a wrong
// client secret is named as such, and the start-up issuer check accepts
// the exact issuer and flags a trailing slash.
func TestRealOIDCProvider(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "runs oidc-provider, a real OpenID Connect provider, under node")
	op := startRealOIDC(t)
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		op := startRealOIDC(t) // one provider per engine: the test steers it (next, deny, rotate)
		ts := apitest.NewServer(t, engine, apitest.Options{Social: []config.SocialProvider{op.provider(op.secret)}})
		sub := "dana-" + string(engine)
		op.next(sub, map[string]any{"email": "owner@example.com", "email_verified": true, "name": "Dana Owner"})
		b := apitest.NewBrowser(t, ts)
		apitest.WantLocation(t, b.OidcRound(), "/")
		if status, email := b.Me(); status != 200 || email != "owner@example.com" {
			t.Fatalf("after the real provider: %d %s\n%s", status, email, ts.Logs.String())
		}

		op.next(sub+"-unverified", map[string]any{"email": "owner@example.com", "email_verified": false, "name": "Mallory"})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).OidcRound(), "/login?error_code=email_not_verified&provider=dex")

		op.deny()
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).OidcRound(), "/login?error_code=access_denied&provider=dex")
		if lines := apitest.LogLines(ts, `"provider":"dex"`, `"idp_error":"access_denied"`, "End-User aborted interaction"); len(lines) != 1 {
			t.Fatalf("denial log lines: %q", lines)
		}

		// A new signing key (new kid): Gatehouse fetches the JWKS again.
		op.post("/_test/rotate", map[string]any{})
		op.next(sub, map[string]any{"email": "owner@example.com", "email_verified": true, "name": "Dana Owner"})
		apitest.WantLocation(t, apitest.NewBrowser(t, ts).OidcRound(), "/")

		wrong := apitest.NewServer(t, engine, apitest.Options{Social: []config.SocialProvider{op.provider("not-the-secret")}})
		apitest.WantLocation(t, apitest.NewBrowser(t, wrong).OidcRound(), "/login?error_code=sso_client_rejected&provider=dex")
		if lines := apitest.LogLines(wrong, `"level":"WARN"`, `"code":"sso_client_rejected"`, `"idp_error":"invalid_client"`); len(lines) != 1 {
			t.Fatalf("wrong secret log lines: %q\n%s", lines, wrong.Logs.String())
		}
	})
	site := apitest.MustURL(apitest.TestSiteURL)
	if w := oauth.NewRegistry([]config.SocialProvider{op.provider(op.secret)}, site, nil).CheckIssuers(context.Background()); len(w) != 0 {
		t.Errorf("exact issuer: %q", w)
	}
	slash := op.provider(op.secret)
	slash.Issuer += "/"
	// At sign-in the same mismatch is named, not "could not be reached".
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{Social: []config.SocialProvider{slash}})
	apitest.WantLocation(t, apitest.NewBrowser(t, ts).Get("/login/dex/").Header.Get("Location"), "/login?error_code=sso_issuer_mismatch&provider=dex")
	if page := apitest.LoginPage(t, ts, "/login?error_code=sso_issuer_mismatch&provider=dex"); !strings.Contains(page, "Gatehouse&#39;s issuer setting for Dex does not match the provider: ask your administrator.") {
		t.Errorf("issuer mismatch page:\n%s", page)
	}
	if w := oauth.NewRegistry([]config.SocialProvider{slash}, site, nil).CheckIssuers(context.Background()); len(w) != 1 || !strings.Contains(w[0], strconv.Quote(op.issuer)) {
		t.Errorf("issuer with a trailing slash: %q", w)
	}
}
