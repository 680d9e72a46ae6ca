package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// spoofHeaders are the headers a client may send to claim another address.
func spoofHeaders(ip string) [][]string {
	return [][]string{
		{"X-Forwarded-For", ip},
		{"X-Forwarded-For", ip + ", " + ip},
		{"Forwarded", "for=" + ip},
		{"Forwarded", `for="` + ip + `:1234";proto=https`},
		{"X-Real-IP", ip},
		{"True-Client-IP", ip},
		{"CF-Connecting-IP", ip},
		{"X-Client-IP", ip},
		{"X-Forwarded-For", ip, "Forwarded", "for=" + ip, "X-Real-IP", ip},
	}
}

// TestAttackForwardedHeaderSpoofing: the client address is the peer's
// unless the server is behind a proxy and every hop is a trusted proxy.
// A client claiming an allowed address in X-Forwarded-For, Forwarded or
// another header is refused by the IP allow-list, cannot escape the
// login lockout by changing the claim, and is logged under its real
// address; behind a trusted proxy an untrusted hop in the chain makes
// the client unknown (refused).
func TestAttackForwardedHeaderSpoofing(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		for _, setup := range []struct {
			name string
			o    apitest.Options
		}{
			{"no proxy", apitest.Options{Allowed: "10.0.0.0/8"}},
			{"no proxy, trusted proxies listed but not behind one", apitest.Options{Allowed: "10.0.0.0/8", Trusted: "127.0.0.1"}},
			{"behind a proxy, the peer not trusted", apitest.Options{Allowed: "10.0.0.0/8", Trusted: "192.0.2.1", Behind: true}},
		} {
			ts := apitest.NewServer(t, engine, setup.o)
			for _, h := range spoofHeaders("10.1.2.3") {
				if resp, body := ts.Do(t, "GET", "/api/users/@me/", nil, h...); resp.StatusCode != 403 || body != netguard.BlockedMessage {
					t.Errorf("%s: %v admitted: %d %q", setup.name, h, resp.StatusCode, body)
				}
			}
		}
		// Behind a trusted proxy: only X-Forwarded-For counts, and only
		// when every hop after the client is a trusted proxy.
		ts := apitest.NewServer(t, engine, apitest.Options{Allowed: "10.0.0.0/8", Trusted: "127.0.0.1", Behind: true})
		for _, h := range [][]string{
			{"X-Forwarded-For", "10.1.2.3, 198.51.100.1"},
			{"X-Forwarded-For", "10.1.2.3, garbage"},
			{"X-Forwarded-For", "garbage"},
			{"X-Forwarded-For", "10.1.2.3.4"},
			{"Forwarded", "for=10.1.2.3"},
			{"X-Real-IP", "10.1.2.3"},
			{"X-Forwarded-For", "198.51.100.1", "X-Real-IP", "10.1.2.3"},
		} {
			if resp, body := ts.Do(t, "GET", "/api/users/@me/", nil, h...); resp.StatusCode != 403 || body != netguard.BlockedMessage {
				t.Errorf("trusted proxy: %v admitted: %d %q", h, resp.StatusCode, body)
			}
		}
		// The control: a trusted proxy forwarding an allowed client.
		if resp, _ := ts.Do(t, "GET", "/api/users/@me/", nil, "X-Forwarded-For", "10.1.2.3"); resp.StatusCode != 401 {
			t.Errorf("control: trusted proxy forwarding 10.1.2.3: %d", resp.StatusCode)
		}

		// The lockout counts the real address: a new claim per guess
		// does not earn more guesses.
		ts = apitest.NewServer(t, engine, apitest.Options{})
		b := apitest.NewBrowser(t, ts)
		for i := 1; i <= 4; i++ {
			b.Extra = []string{"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i), "Forwarded", fmt.Sprintf("for=198.51.100.%d", i), "X-Real-IP", fmt.Sprintf("192.0.2.%d", i)}
			if resp, body := b.Login("owner@example.com", "wrong guess"); resp.StatusCode != 400 || body["code"] != "invalid_credentials" {
				t.Fatalf("guess %d: %d %v", i, resp.StatusCode, body)
			}
		}
		b.Extra = []string{"X-Forwarded-For", "203.0.113.99"}
		apitest.AssertLocked(t, b, "wrong guess")
		apitest.AssertLocked(t, b, apitest.OwnerPassword)
		// The log names the peer, not the claim.
		logs := ts.Logs.String()
		if strings.Contains(logs, `"client":"203.0.113.`) || strings.Contains(logs, `"client":"198.51.100.`) || !strings.Contains(logs, `"client":"127.0.0.1"`) {
			t.Errorf("the log took a claimed address:\n%s", logs)
		}
	})
}

// TestAttackAllowListPathTricks: a client outside the IP allow-list reaches
// only the exempt ingestion, flag, static and health endpoints. Paths that
// start like an exempt one and walk elsewhere (dot segments, encoded
// slashes, doubled slashes, case, trailing dots, ";") are blocked or
// reach nothing (404); none reaches a protected handler.
func TestAttackAllowListPathTricks(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{Allowed: "10.0.0.0/8"})
		for _, path := range []string{
			"/api/../e", "/api/../e/", "/e/../api/users/@me/", "/e/..%2Fapi/users/@me/", "/e%2F..%2Fapi/users/@me/",
			"/e%2F..%2F..%2Fapi%2Fusers%2F@me", "/e/%2e%2e/api/users/@me", "/e/../../api/users/@me",
			"//e", "//e/../api/users/@me", "//api/users/@me", "/./api/users/@me",
			"/E", "/E/", "/Api/users/@me/", "/e.", "/e./", "/e../", "/e;/../api/users/@me", "/batch/..;/api/users/@me",
			"/static/../api/users/@me", "/static/..%2f..%2fapi/users/@me", "/_health/../api/users/@me", "/_health/../login",
			"/flags/../settings", "/decide/..%2F..%2Fsettings", "/i/../api/users/@me", "/s/../login",
			"/_health/../_readyz", "/_healthz", "/e/../api/personal_api_keys/", "/capture/../signup",
		} {
			for _, method := range []string{"GET", "POST", "PATCH", "DELETE"} {
				resp, body := ts.Do(t, method, path, strings.NewReader("{}"), "Content-Type", "application/json")
				blocked := resp.StatusCode == 403 && body == netguard.BlockedMessage
				nothing := resp.StatusCode == 404 && strings.Contains(body, `"code":"not_found"`)
				if !blocked && !nothing {
					t.Errorf("%s %s: %d %q %q", method, path, resp.StatusCode, resp.Header.Get("Location"), body)
				}
			}
		}
		// The controls: the exempt endpoints stay open.
		if resp, _ := ts.Do(t, "GET", "/_health", nil); resp.StatusCode != 200 {
			t.Errorf("/_health: %d", resp.StatusCode)
		}
		ev := fmt.Sprintf(`{"token":%q,"event":"a","distinct_id":"u"}`, ts.Project.APIToken)
		if resp, body := ts.Do(t, "POST", "/e/", strings.NewReader(ev)); resp.StatusCode != 200 {
			t.Errorf("/e/: %d %s", resp.StatusCode, body)
		}
	})
}
