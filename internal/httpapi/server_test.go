package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/capture"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/netguard"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

func TestCaptureEncodingsAndPaths(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		tok := ts.Project.APIToken
		single := fmt.Sprintf(`{"event":"$pageview","distinct_id":"u1","properties":{"token":%q}}`, tok)
		batch := fmt.Sprintf(`{"api_key":%q,"batch":[{"event":"a","distinct_id":"u1"},{"event":"b","distinct_id":"u2"}]}`, tok)
		form := func(payload, compression string) io.Reader {
			v := url.Values{"data": {payload}}
			if compression != "" {
				v.Set("compression", compression)
			}
			return strings.NewReader(v.Encode())
		}
		formType := []string{"Content-Type", "application/x-www-form-urlencoded"}
		for _, tc := range []struct {
			name   string
			method string
			path   string
			body   func() io.Reader
			header []string
			events int
		}{
			{"json /e", "POST", "/e", func() io.Reader { return strings.NewReader(single) }, nil, 1},
			{"json /e/", "POST", "/e/", func() io.Reader { return strings.NewReader(single) }, nil, 1},
			{"i/v0/e", "POST", "/i/v0/e/", func() io.Reader { return strings.NewReader(single) }, nil, 1},
			{"capture", "POST", "/capture", func() io.Reader { return strings.NewReader(single) }, nil, 1},
			{"track/", "POST", "/track/", func() io.Reader { return strings.NewReader(single) }, nil, 1},
			{"engage", "POST", "/engage", func() io.Reader {
				return strings.NewReader(fmt.Sprintf(`{"$token":%q,"distinct_id":"u9","$set":{"a":1}}`, tok))
			}, nil, 1},
			{"batch", "POST", "/batch", func() io.Reader { return strings.NewReader(batch) }, nil, 2},
			{"batch/ gzip by param", "POST", "/batch/?compression=gzip-js", func() io.Reader { return bytes.NewReader(apitest.Gz(t, batch)) }, nil, 2},
			{"gzip by magic bytes", "POST", "/batch", func() io.Reader { return bytes.NewReader(apitest.Gz(t, batch)) }, nil, 2},
			{"lz64 form", "POST", "/e/?compression=lz64", func() io.Reader { return form(capture.CompressToBase64(batch), "") }, formType, 2},
			{"lz-string body", "POST", "/e?compression=lz-string", func() io.Reader { return strings.NewReader(capture.CompressToBase64(single)) }, nil, 1},
			{"base64 form", "POST", "/e", func() io.Reader { return form(base64.StdEncoding.EncodeToString([]byte(single)), "") }, formType, 1},
			{"form with compression field", "POST", "/e", func() io.Reader { return form(base64.StdEncoding.EncodeToString([]byte(single)), "base64") }, formType, 1},
			{"legacy GET data=", "GET", "/e/?data=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(single))), func() io.Reader { return nil }, nil, 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := ts.Count(t)
				resp, body := ts.Do(t, tc.method, tc.path, tc.body(), tc.header...)
				if resp.StatusCode != 200 || strings.TrimSpace(body) != `{"status":1}` {
					t.Fatalf("status %d body %q", resp.StatusCode, body)
				}
				if got := ts.Count(t) - before; got != tc.events {
					t.Fatalf("stored %d events, want %d", got, tc.events)
				}
			})
		}
	})
}

func TestCaptureStoresEventContent(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	id := "0190C3A0-0000-7000-8000-0000000000AB"
	body := fmt.Sprintf(`{"token":%q,"event":"signed up","distinct_id":42,"uuid":%q,"timestamp":"2026-11-23T09:00:00Z","properties":{"plan":"pro"}}`, ts.Project.APIToken, id)
	if resp, b := ts.Do(t, "POST", "/capture/", strings.NewReader(body)); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	evs, err := ts.Store.EventsOfProject(context.Background(), ts.Project.ID, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("%v %v", evs, err)
	}
	e := evs[0]
	if e.UUID != strings.ToLower(id) || e.Name != "signed up" || e.DistinctID != "42" || e.Timestamp != "2026-11-23T09:00:00Z" {
		t.Fatalf("stored %+v", e)
	}
	var props map[string]any
	if err := json.Unmarshal(e.Properties, &props); err != nil || props["properties"].(map[string]any)["plan"] != "pro" {
		t.Fatalf("properties %s: %v", e.Properties, err)
	}
}

// A NUL character ("\u0000") in an event's name, distinct_id or timestamp
// cannot be stored in PostgreSQL's text. It becomes U+FFFD, on both
// engines, instead of failing the transaction shared with other requests'
// events and being refused on every retry; the properties keep it as
// written.
func TestCaptureNULInFieldsIsStored(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		body := fmt.Sprintf(`{"api_key":%q,"batch":[{"event":"a\u0000b","distinct_id":"u\u0000","timestamp":"2026\u0000","properties":{"p":"x\u0000y"}},{"event":"plain","distinct_id":"u"}]}`, ts.Project.APIToken)
		if resp, b := ts.Do(t, "POST", "/batch/", strings.NewReader(body)); resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		evs, err := ts.Store.EventsOfProject(context.Background(), ts.Project.ID, 10)
		if err != nil || len(evs) != 2 {
			t.Fatalf("%v %v", evs, err)
		}
		for _, e := range evs {
			if e.Name == "plain" {
				continue
			}
			if e.Name != "a\uFFFDb" || e.DistinctID != "u\uFFFD" || e.Timestamp != "2026\uFFFD" {
				t.Fatalf("stored %q %q %q", e.Name, e.DistinctID, e.Timestamp)
			}
			var props map[string]any
			if err := json.Unmarshal(e.Properties, &props); err != nil || props["properties"].(map[string]any)["p"] != "x\x00y" {
				t.Fatalf("properties %s: %v", e.Properties, err)
			}
		}
	})
}

func TestCaptureSameUUIDStoredOnce(t *testing.T) {
	t.Parallel()
	apitest.ForEachEngine(t, func(t *testing.T, engine store.Engine) {
		ts := apitest.NewServer(t, engine, apitest.Options{})
		ev := fmt.Sprintf(`{"api_key":%q,"batch":[{"event":"a","distinct_id":"u","uuid":"0190c3a0-0000-7000-8000-000000000001"}]}`, ts.Project.APIToken)
		// A client retrying (sequentially and concurrently) must not duplicate.
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(ts.URL+"/batch/", "application/json", strings.NewReader(ev))
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		if n := ts.Count(t); n != 1 {
			t.Fatalf("stored %d copies", n)
		}
	})
}

func TestCaptureErrors(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	tok := ts.Project.APIToken
	big := fmt.Sprintf(`{"token":%q,"event":"a","distinct_id":"u","properties":{"pad":%q}}`, tok, strings.Repeat("x", 2*1024*1024))
	for _, tc := range []struct {
		name, path, body string
		status           int
		text             string
	}{
		{"no token", "/e", `{"event":"a","distinct_id":"u"}`, 401, "event submitted without an api_key"},
		{"inconsistent tokens", "/batch", `[{"event":"a","distinct_id":"u","token":"phc_a"},{"event":"b","distinct_id":"u","token":"phc_b"}]`, 401, "batch submitted with inconsistent api_key values"},
		{"malformed token", "/e", `{"event":"a","distinct_id":"u","token":"phc bad token"}`, 401, "API key is not valid"},
		{"unknown project", "/e", `{"event":"a","distinct_id":"u","token":"phc_doesnotexist"}`, 401, "API key is not valid"},
		{"bad json", "/e", `{"event":`, 400, ""},
		{"missing distinct_id", "/e", fmt.Sprintf(`{"event":"a","token":%q}`, tok), 400, ""},
		{"missing event", "/e", fmt.Sprintf(`{"distinct_id":"u","token":%q}`, tok), 400, ""},
		{"empty batch", "/batch", fmt.Sprintf(`{"api_key":%q,"batch":[]}`, tok), 400, ""},
		{"too large for /e", "/e", big, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := ts.Do(t, "POST", tc.path, strings.NewReader(tc.body))
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.text) {
				t.Fatalf("got %d %q, want %d containing %q", resp.StatusCode, body, tc.status, tc.text)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("capture errors are plain text, got %q", ct)
			}
		})
	}
	if n := ts.Count(t); n != 0 {
		t.Fatalf("failed requests stored %d events", n)
	}
	// The same large body is fine on /batch (20 MB limit).
	if resp, body := ts.Do(t, "POST", "/batch", strings.NewReader(big)); resp.StatusCode != 200 {
		t.Fatalf("/batch with a 2 MB body: %d %s", resp.StatusCode, body)
	}
}

func TestCaptureBeaconAndCORS(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	body := fmt.Sprintf(`{"token":%q,"event":"a","distinct_id":"u"}`, ts.Project.APIToken)
	resp, b := ts.Do(t, "POST", "/e/?beacon=1", strings.NewReader(body), "Origin", "https://shop.example.com")
	if resp.StatusCode != 204 || b != "" {
		t.Fatalf("beacon: %d %q", resp.StatusCode, b)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" || resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("CORS headers: %v", resp.Header)
	}
	resp, _ = ts.Do(t, "OPTIONS", "/batch/", nil, "Origin", "https://shop.example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://shop.example.com" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") || resp.Header.Get("Access-Control-Allow-Headers") != "content-type" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = ts.Do(t, "DELETE", "/e", nil)
	if resp.StatusCode != 405 {
		t.Fatalf("DELETE /e: %d", resp.StatusCode)
	}
}

func TestIPAllowList(t *testing.T) {
	t.Parallel()
	// httptest clients come from 127.0.0.1.
	t.Run("blocked outside the list", func(t *testing.T) {
		t.Parallel()
		ts := apitest.NewServer(t, store.SQLite, apitest.Options{Allowed: "10.0.0.0/8"})
		for _, path := range []string{"/api/users/@me/", "/_readyz", "/", "/api/nope"} {
			resp, body := ts.Do(t, "GET", path, nil)
			if resp.StatusCode != 403 || body != netguard.BlockedMessage {
				t.Fatalf("%s: %d %q", path, resp.StatusCode, body)
			}
		}
		// Ingestion stays open to every address.
		body := fmt.Sprintf(`{"token":%q,"event":"a","distinct_id":"u"}`, ts.Project.APIToken)
		if resp, b := ts.Do(t, "POST", "/e/", strings.NewReader(body)); resp.StatusCode != 200 {
			t.Fatalf("capture blocked: %d %s", resp.StatusCode, b)
		}
		if resp, _ := ts.Do(t, "GET", "/_health", nil); resp.StatusCode != 200 {
			t.Fatalf("/_health blocked: %d", resp.StatusCode)
		}
	})
	t.Run("allowed inside the list", func(t *testing.T) {
		t.Parallel()
		ts := apitest.NewServer(t, store.SQLite, apitest.Options{Allowed: "127.0.0.0/8"})
		if resp, _ := ts.Do(t, "GET", "/_readyz", nil); resp.StatusCode != 200 {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
	t.Run("spoofed X-Forwarded-For without a proxy is ignored", func(t *testing.T) {
		t.Parallel()
		ts := apitest.NewServer(t, store.SQLite, apitest.Options{Allowed: "10.0.0.0/8"})
		if resp, _ := ts.Do(t, "GET", "/_readyz", nil, "X-Forwarded-For", "10.1.2.3"); resp.StatusCode != 403 {
			t.Fatalf("spoofed header admitted: %d", resp.StatusCode)
		}
	})
	t.Run("trusted proxy forwards the client", func(t *testing.T) {
		t.Parallel()
		ts := apitest.NewServer(t, store.SQLite, apitest.Options{Allowed: "10.0.0.0/8", Trusted: "127.0.0.1", Behind: true})
		if resp, _ := ts.Do(t, "GET", "/_readyz", nil, "X-Forwarded-For", "10.1.2.3"); resp.StatusCode != 200 {
			t.Fatalf("forwarded client refused: %d", resp.StatusCode)
		}
		// An untrusted hop in the chain makes the client unknown.
		if resp, _ := ts.Do(t, "GET", "/_readyz", nil, "X-Forwarded-For", "10.1.2.3, 192.0.2.1"); resp.StatusCode != 403 {
			t.Fatalf("untrusted hop admitted: %d", resp.StatusCode)
		}
		if resp, _ := ts.Do(t, "GET", "/_readyz", nil, "X-Forwarded-For", "garbage"); resp.StatusCode != 403 {
			t.Fatalf("unparsable client admitted: %d", resp.StatusCode)
		}
	})
	t.Run("client address is logged as resolved", func(t *testing.T) {
		t.Parallel()
		ts := apitest.NewServer(t, store.SQLite, apitest.Options{Trusted: "127.0.0.1", Behind: true})
		ts.Do(t, "GET", "/_health", nil, "X-Forwarded-For", "203.0.113.9")
		if !strings.Contains(ts.Logs.String(), `"client":"203.0.113.9"`) {
			t.Fatalf("log does not show the forwarded client: %s", ts.Logs.String())
		}
	})
}

type downDB struct{}

func (downDB) Ping(context.Context) error { return fmt.Errorf("connection refused") }

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	if resp, body := ts.Do(t, "GET", "/_health", nil); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("/_health: %d %q", resp.StatusCode, body)
	}
	if resp, _ := ts.Do(t, "GET", "/_readyz/", nil); resp.StatusCode != 200 {
		t.Fatalf("/_readyz: %d", resp.StatusCode)
	}
	down := apitest.NewServer(t, store.SQLite, apitest.Options{Database: downDB{}})
	if resp, _ := down.Do(t, "GET", "/_readyz", nil); resp.StatusCode != 503 {
		t.Fatalf("/_readyz with the database down: %d", resp.StatusCode)
	}
	if resp, _ := down.Do(t, "GET", "/_health", nil); resp.StatusCode != 200 {
		t.Fatalf("liveness must not depend on the database: %d", resp.StatusCode)
	}
}

func TestErrorEnvelopeAndHeaders(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	resp, body := ts.Do(t, "GET", "/api/does-not-exist/", nil)
	var env map[string]any
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("not JSON: %q", body)
	}
	if resp.StatusCode != 404 || env["type"] != "invalid_request" || env["code"] != "not_found" || env["detail"] != "Not found." {
		t.Fatalf("%d %v", resp.StatusCode, env)
	}
	if v, ok := env["attr"]; !ok || v != nil {
		t.Fatalf("attr must be present and null: %v", env)
	}
	for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN", "Referrer-Policy": "same-origin"} {
		if resp.Header.Get(h) != want {
			t.Errorf("%s = %q, want %q", h, resp.Header.Get(h), want)
		}
	}
}

func TestWriteErrorMapping(t *testing.T) {
	t.Parallel()
	logs := &apitest.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	for _, tc := range []struct {
		err    error
		status int
		typ    string
		code   string
		attr   any
	}{
		{gatehouse.Invalid("invalid_input", "email", "Enter a valid email address."), 400, "validation_error", "invalid_input", "email"},
		{&gatehouse.Error{Kind: gatehouse.KindUnauthenticated, Code: "not_authenticated", Detail: "x"}, 401, "authentication_error", "not_authenticated", nil},
		{&gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "too_many_failed_attempts", Detail: "x"}, 403, "authentication_error", "too_many_failed_attempts", nil},
		{&gatehouse.Error{Kind: gatehouse.KindThrottled, Code: "throttled", Detail: "x", RetryAfter: 30}, 429, "throttled_error", "throttled", nil},
		{fmt.Errorf("wrapped: %w", gatehouse.NotFound()), 404, "invalid_request", "not_found", nil},
		{fmt.Errorf("db password=hunter2 exploded"), 500, "server_error", "error", nil},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/api/x", nil)
		httpauth.WriteError(rec, req.WithContext(httpauth.WithLogger(req.Context(), logger)), tc.err)
		var env map[string]any
		json.Unmarshal(rec.Body.Bytes(), &env)
		if rec.Code != tc.status || env["type"] != tc.typ || env["code"] != tc.code || env["attr"] != tc.attr {
			t.Errorf("%v: got %d %v", tc.err, rec.Code, env)
		}
		if tc.status == 429 && rec.Header().Get("Retry-After") != "30" {
			t.Errorf("Retry-After missing: %v", rec.Header())
		}
		if strings.Contains(rec.Body.String(), "hunter2") {
			t.Errorf("internal error text leaked to the client: %s", rec.Body.String())
		}
	}
}

// TestNoSecretsInLogs sends every kind of credential in every place a
// client can put one and checks that no log line contains any of them.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	ts := apitest.NewServer(t, store.SQLite, apitest.Options{})
	secrets := []string{
		ts.Project.APIToken, ts.Secret.Reveal(),
		"phx_personalkeyvalue1234567890abcdefghijklmn", "hunter2-password-value", "sessionid-cookie-value-123",
	}
	q := url.Values{"token": {secrets[0]}, "personal_api_key": {secrets[2]}, "secret_api_key": {secrets[1]}, "password": {secrets[3]}}
	body := fmt.Sprintf(`{"token":%q,"event":"a","distinct_id":"u","password":%q}`, secrets[0], secrets[3])
	hdr := []string{"Authorization", "Bearer " + secrets[2], "Cookie", "sessionid=" + secrets[4], "X-Api-Key", secrets[1]}
	ts.Do(t, "POST", "/e/?"+q.Encode(), strings.NewReader(body), hdr...)
	ts.Do(t, "POST", "/api/login/?"+q.Encode(), strings.NewReader(body), hdr...)
	ts.Do(t, "GET", "/_readyz?"+q.Encode(), nil, hdr...)
	ts.Do(t, "GET", "/reset/"+ts.User.UUID+"/"+secrets[4], nil)
	ts.Do(t, "POST", "/e/?"+q.Encode(), strings.NewReader(`{"token":"`+secrets[1]+`","event":`), hdr...)
	logs := ts.Logs.String()
	if strings.Count(logs, `"msg":"request"`) != 5 {
		t.Fatalf("want one log line per request, got:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Fatalf("log contains secret %q:\n%s", s, logs)
		}
	}
}

func TestClientAddressIsAvailableToHandlers(t *testing.T) {
	t.Parallel()
	// The resolved address reaches handlers through the context, so later
	// features key lockouts on the same address the allow-list used.
	var got netip.Addr
	h := netguard.Middleware(netguard.NewResolver(nil, false, false), nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _, _ = netguard.ClientFromContext(r.Context())
	}))
	req := httptest.NewRequest("GET", "/api/x", nil)
	req.RemoteAddr = "198.51.100.7:5555"
	h.ServeHTTP(httptest.NewRecorder(), req)
	if got.String() != "198.51.100.7" {
		t.Fatalf("client %v", got)
	}
}
