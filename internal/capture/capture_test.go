package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

const testToken = "phc_test_token"

// samplePayload is a posthog-js style array: one event with a top-level
// distinct_id, one carrying distinct_id and token only in properties.
const samplePayload = `[{"event":"$pageview","distinct_id":"user-1","properties":{"token":"phc_test_token","$current_url":"https://example.com/?a=1&b=2"}},` +
	`{"event":"click","properties":{"distinct_id":"user-2","token":"phc_test_token","$el_text":"Hello ~~~ héllo 🙂"}}]`

// newReq builds a request; ct is the Content-Type, empty for none.
func newReq(t testing.TB, method, target string, body []byte, ct string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	if ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	return r
}

// unsized hides the length of a body, as a chunked upload would.
type unsized struct{ io.Reader }

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func form(kv ...string) []byte {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return []byte(v.Encode())
}

func mustDecode(t testing.TB, r *http.Request, ep Endpoint) *Batch {
	t.Helper()
	b, err := Decode(r, ep)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	checkBatch(t, b)
	return b
}

// checkBatch asserts the invariants every successful decode must meet.
func checkBatch(t testing.TB, b *Batch) {
	t.Helper()
	if b == nil || len(b.Events) == 0 {
		t.Fatalf("empty batch %+v", b)
	}
	if tokenProblem(b.Token) != "" {
		t.Fatalf("batch token %q is malformed", b.Token)
	}
	for i, ev := range b.Events {
		if ev.Name == "" || ev.DistinctID == "" {
			t.Fatalf("event %d: empty name or distinct_id: %+v", i, ev)
		}
		if !json.Valid(ev.Raw) || len(ev.Raw) == 0 || ev.Raw[0] != '{' {
			t.Fatalf("event %d: Raw is not a JSON object: %.100s", i, ev.Raw)
		}
		if ev.UUID != "" {
			if u, ok := canonicalUUID(ev.UUID); !ok || u != ev.UUID {
				t.Fatalf("event %d: uuid %q not canonical lower-case", i, ev.UUID)
			}
		}
	}
}

// wantErr asserts Decode fails with status and a message starting with msg.
func wantErr(t testing.TB, r *http.Request, ep Endpoint, status int, msg string) *Error {
	t.Helper()
	b, err := Decode(r, ep)
	if err == nil {
		t.Fatalf("Decode succeeded (%d events), want %d %q", len(b.Events), status, msg)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	if e.Status != status || !strings.HasPrefix(e.Message, msg) {
		t.Fatalf("got %d %q, want %d %q…", e.Status, e.Message, status, msg)
	}
	if e.Error() != e.Message {
		t.Fatalf("Error() = %q, Message = %q", e.Error(), e.Message)
	}
	return e
}

func checkSample(t testing.TB, b *Batch) {
	t.Helper()
	if b.Token != testToken {
		t.Errorf("Token = %q, want %q", b.Token, testToken)
	}
	if len(b.Events) != 2 {
		t.Fatalf("got %d events, want 2", len(b.Events))
	}
	for i, want := range [][2]string{{"$pageview", "user-1"}, {"click", "user-2"}} {
		if got := b.Events[i]; got.Name != want[0] || got.DistinctID != want[1] {
			t.Errorf("event %d = %q/%q, want %q/%q", i, got.Name, got.DistinctID, want[0], want[1])
		}
	}
	if !strings.Contains(string(b.Events[1].Raw), "héllo 🙂") {
		t.Errorf("non-ASCII text lost: %s", b.Events[1].Raw)
	}
}

func TestDecodeEncodings(t *testing.T) {
	plain := []byte(samplePayload)
	lz := CompressToBase64(samplePayload)
	if !strings.Contains(b64(samplePayload), "+") {
		t.Fatal("sample base64 should contain '+' to exercise form decoding")
	}
	formRawPlus := []byte("data=" + b64(samplePayload)) // '+' left unescaped: form decoding turns it into ' '
	// An lz64 text with a '+' in it, sent without escaping it.
	var lzPlus string
	for i := 0; i < 400 && !strings.Contains(lzPlus, "+"); i++ {
		lzPlus = CompressToBase64(samplePayload + strings.Repeat(" ", i))
	}
	if !strings.Contains(lzPlus, "+") {
		t.Fatal("found no lz64 text with '+'")
	}
	lzRawPlus := []byte("compression=lz64&data=" + lzPlus)
	urlB64 := base64.RawURLEncoding.EncodeToString(plain)

	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
		ep   Endpoint
	}{
		{"plain JSON body", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", plain, "application/json")
		}, EndpointEvent},
		{"plain JSON, no content type", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", plain, "")
		}, EndpointEvent},
		{"leading whitespace and BOM", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", append([]byte("\xef\xbb\xbf \n"), plain...), "text/plain")
		}, EndpointEvent},
		{"gzip by param", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=gzip", gz(t, plain), "text/plain")
		}, EndpointEvent},
		{"gzip-js by param", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/i/v0/e/?compression=gzip-js&ver=1.2.3&_=1700000000000", gz(t, plain), "text/plain")
		}, EndpointEvent},
		{"gzip by magic bytes, no param", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/batch", gz(t, plain), "application/json")
		}, EndpointBatch},
		{"gzip by magic bytes despite another param", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=lz64", gz(t, plain), "")
		}, EndpointEvent},
		{"gzip by Content-Encoding", func(t *testing.T) *http.Request {
			r := newReq(t, "POST", "/batch", gz(t, plain), "application/json")
			r.Header.Set("Content-Encoding", "gzip")
			return r
		}, EndpointBatch},
		{"gzip then base64 with compression=gzip", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=gzip", []byte(base64.StdEncoding.EncodeToString(gz(t, plain))), "")
		}, EndpointEvent},
		{"lz64 body", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=lz64", []byte(lz), "text/plain")
		}, EndpointEvent},
		{"lz-string body", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=lz-string", []byte(lz), "text/plain")
		}, EndpointEvent},
		{"base64 param", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=base64", []byte(b64(samplePayload)), "")
		}, EndpointEvent},
		{"b64 param", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=b64", []byte(b64(samplePayload)), "")
		}, EndpointEvent},
		{"b64 param, URL alphabet without padding", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=b64", []byte(urlB64), "")
		}, EndpointEvent},
		{"base64 body without param (legacy)", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/batch", []byte(b64(samplePayload)), "")
		}, EndpointBatch},
		{"unknown compression value", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=zstd", plain, "")
		}, EndpointEvent},
		{"form data plain JSON", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", form("data", samplePayload), "application/x-www-form-urlencoded")
		}, EndpointEvent},
		{"form data plain JSON, charset parameter", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/track", form("data", samplePayload, "ver", "1.0"), "application/x-www-form-urlencoded; charset=UTF-8")
		}, EndpointEvent},
		{"form data base64, escaped", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", form("data", b64(samplePayload)), "application/x-www-form-urlencoded")
		}, EndpointEvent},
		{"form data base64, '+' turned into ' '", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", formRawPlus, "application/x-www-form-urlencoded")
		}, EndpointEvent},
		{"form data with form compression=lz64", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", form("compression", "lz64", "data", lz), "application/x-www-form-urlencoded")
		}, EndpointEvent},
		{"form data lz64, '+' turned into ' '", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", lzRawPlus, "application/x-www-form-urlencoded")
		}, EndpointEvent},
		{"form data lz64 with query compression", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e/?compression=lz64", form("data", lz), "application/x-www-form-urlencoded")
		}, EndpointEvent},
		{"form data gzip in a form field (magic bytes)", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", form("data", string(gz(t, plain))), "application/x-www-form-urlencoded")
		}, EndpointEvent},
		{"GET data= base64", func(t *testing.T) *http.Request {
			return newReq(t, "GET", "/e?data="+url.QueryEscape(b64(samplePayload)), nil, "")
		}, EndpointEvent},
		{"GET data= base64 with '+' unescaped", func(t *testing.T) *http.Request {
			return newReq(t, "GET", "/e/?data="+b64(samplePayload), nil, "")
		}, EndpointEvent},
		{"GET data= plain JSON", func(t *testing.T) *http.Request {
			return newReq(t, "GET", "/capture?data="+url.QueryEscape(samplePayload), nil, "")
		}, EndpointEvent},
		{"GET data= lz64", func(t *testing.T) *http.Request {
			return newReq(t, "GET", "/e?compression=lz64&data="+url.QueryEscape(lz), nil, "")
		}, EndpointEvent},
		{"POST with data in the query", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?data="+url.QueryEscape(b64(samplePayload)), nil, "")
		}, EndpointEvent},
		{"double base64 on /e", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e", []byte(b64(b64(samplePayload))), "")
		}, EndpointEvent},
		{"double base64 in GET data= on /engage", func(t *testing.T) *http.Request {
			return newReq(t, "GET", "/engage?data="+url.QueryEscape(b64(b64(samplePayload))), nil, "")
		}, EndpointEngage},
		{"lz64 of base64 on /e", func(t *testing.T) *http.Request {
			return newReq(t, "POST", "/e?compression=lz64", []byte(CompressToBase64(b64(samplePayload))), "")
		}, EndpointEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkSample(t, mustDecode(t, tt.req(t), tt.ep))
		})
	}
}

func TestDecodeEncodingErrors(t *testing.T) {
	plain := []byte(samplePayload)
	bad := func(method, target string, body []byte, ct string, ep Endpoint, status int, msg string) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			wantErr(t, newReq(t, method, target, body, ct), ep, status, msg)
		}
	}
	truncated := gz(t, plain)
	truncated = truncated[:len(truncated)/2]

	t.Run("double base64 is not unwrapped twice on /batch",
		bad("POST", "/batch", []byte(b64(b64(samplePayload))), "", EndpointBatch, 400, "failed to parse request"))
	t.Run("triple base64 on /e",
		bad("POST", "/e", []byte(b64(b64(b64(samplePayload)))), "", EndpointEvent, 400, "failed to parse request"))
	t.Run("invalid gzip with param",
		bad("POST", "/e?compression=gzip", plain, "", EndpointEvent, 400, "failed to decode request: invalid gzip data"))
	t.Run("truncated gzip",
		bad("POST", "/e", truncated, "", EndpointEvent, 400, "failed to decode request: invalid gzip data"))
	t.Run("invalid lz64",
		bad("POST", "/e?compression=lz64", []byte("////////"), "", EndpointEvent, 400, "failed to decode request: invalid lz64 data"))
	t.Run("lz64 of plain JSON text",
		bad("POST", "/e?compression=lz64", plain, "", EndpointEvent, 400, "failed to"))
	t.Run("invalid base64 with param",
		bad("POST", "/e?compression=base64", []byte("{not base64}"), "", EndpointEvent, 400, "failed to decode request: invalid base64 data"))
	t.Run("empty body",
		bad("POST", "/e", nil, "", EndpointEvent, 400, "failed to decode request: empty request payload"))
	t.Run("whitespace body",
		bad("POST", "/e", []byte(" \n "), "", EndpointEvent, 400, "failed to decode request: empty request payload"))
	t.Run("GET without data",
		bad("GET", "/e", nil, "", EndpointEvent, 400, "failed to decode request: empty request payload"))
	t.Run("invalid UTF-8",
		bad("POST", "/e", []byte("[{\"event\":\"e\xff\",\"distinct_id\":\"d\",\"token\":\"t\"}]"), "", EndpointEvent, 400, "failed to decode request: invalid UTF-8"))
	t.Run("bad JSON",
		bad("POST", "/e", []byte(`[{"event":"e",}]`), "", EndpointEvent, 400, "failed to parse request: invalid character"))
	t.Run("truncated JSON",
		bad("POST", "/e", []byte(`[{"event":"e"`), "", EndpointEvent, 400, "failed to parse request: unexpected end of JSON input"))
	t.Run("form without data field",
		bad("POST", "/e", []byte("foo=bar"), "application/x-www-form-urlencoded", EndpointEvent, 400, "failed to parse request"))
	t.Run("JSON scalar",
		bad("POST", "/e", []byte(`"hello"`), "", EndpointEvent, 400, "failed to parse request: expected a JSON array or object"))
}

func TestDecodeShapes(t *testing.T) {
	ev := func(extra string) string {
		return `{"event":"e","distinct_id":"d"` + extra + `}`
	}
	tests := []struct {
		name       string
		body       string
		ep         Endpoint
		token      string
		n          int
		sentAt     string
		historical bool
	}{
		{"array", `[` + ev(`,"token":"tok1"`) + `,` + ev(`,"token":"tok1"`) + `]`, EndpointEvent, "tok1", 2, "", false},
		{"batch with api_key (posthog-node/python)", `{"api_key":"tok2","batch":[` + ev("") + `,` + ev("") + `,` + ev("") + `],"sent_at":"2024-05-01T10:00:00.000Z"}`, EndpointBatch, "tok2", 3, "2024-05-01T10:00:00.000Z", false},
		{"batch with token and historical_migration", `{"token":"tok3","historical_migration":true,"batch":[` + ev("") + `]}`, EndpointBatch, "tok3", 1, "", true},
		{"batch historical_migration false", `{"token":"tok3","historical_migration":false,"batch":[` + ev("") + `]}`, EndpointBatch, "tok3", 1, "", false},
		{"batch on /e", `{"api_key":"tok4","batch":[` + ev("") + `]}`, EndpointEvent, "tok4", 1, "", false},
		{"single event with token", ev(`,"token":"tok5","properties":{"a":1}`), EndpointEvent, "tok5", 1, "", false},
		{"single event with $token", ev(`,"$token":"tok6"`), EndpointEvent, "tok6", 1, "", false},
		{"single event with api_key", ev(`,"api_key":"tok7"`), EndpointEvent, "tok7", 1, "", false},
		{"single event with properties.token", ev(`,"properties":{"token":"tok8"}`), EndpointEvent, "tok8", 1, "", false},
		{"single event with batch:null", ev(`,"batch":null,"token":"tok9"`), EndpointEvent, "tok9", 1, "", false},
		{"single event with $set, $set_once, offset", ev(`,"token":"t10","$set":{"a":1},"$set_once":{"b":2},"offset":15`), EndpointEvent, "t10", 1, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustDecode(t, newReq(t, "POST", "/e?_=1714557600123", []byte(tt.body), "application/json"), tt.ep)
			if b.Token != tt.token || len(b.Events) != tt.n || b.SentAt != tt.sentAt || b.Historical != tt.historical {
				t.Errorf("got token=%q n=%d sent_at=%q historical=%v", b.Token, len(b.Events), b.SentAt, b.Historical)
			}
			if b.ClientSentMillis != 1714557600123 {
				t.Errorf("ClientSentMillis = %d", b.ClientSentMillis)
			}
		})
	}
	t.Run("single event Raw is the object as sent", func(t *testing.T) {
		body := `{"event":"e", "distinct_id":"d", "token":"t", "properties":{"x":[1,2,{"y":"z"}]}}`
		b := mustDecode(t, newReq(t, "POST", "/capture", []byte(" "+body+"\n"), ""), EndpointEvent)
		if string(b.Events[0].Raw) != body {
			t.Errorf("Raw = %s", b.Events[0].Raw)
		}
		if b.ClientSentMillis != 0 {
			t.Errorf("ClientSentMillis = %d without _", b.ClientSentMillis)
		}
	})
}

func TestDecodeTokens(t *testing.T) {
	ok := func(body, token string) func(t *testing.T) {
		return func(t *testing.T) {
			b := mustDecode(t, newReq(t, "POST", "/batch", []byte(body), ""), EndpointBatch)
			if b.Token != token {
				t.Errorf("Token = %q, want %q", b.Token, token)
			}
		}
	}
	bad := func(body, msg string) func(t *testing.T) {
		return func(t *testing.T) {
			wantErr(t, newReq(t, "POST", "/batch", []byte(body), ""), EndpointBatch, http.StatusUnauthorized, msg)
		}
	}
	t.Run("batch-level api_key wins over per-event",
		ok(`{"api_key":"batch_tok","batch":[{"event":"e","distinct_id":"d","token":"a"},{"event":"e","distinct_id":"d","token":"b"}]}`, "batch_tok"))
	t.Run("batch-level token wins",
		ok(`{"token":"batch_tok","batch":[{"event":"e","distinct_id":"d","$token":"a"}]}`, "batch_tok"))
	t.Run("consistent per-event tokens",
		ok(`[{"event":"e","distinct_id":"d","token":"tok"},{"event":"e","distinct_id":"d","properties":{"token":"tok"}},{"event":"e","distinct_id":"d","$token":"tok"}]`, "tok"))
	t.Run("events without a token ride along",
		ok(`[{"event":"e","distinct_id":"d"},{"event":"e","distinct_id":"d","api_key":"tok"}]`, "tok"))
	t.Run("top-level token wins over properties.token",
		ok(`[{"event":"e","distinct_id":"d","token":"top","properties":{"token":"prop"}}]`, "top"))
	t.Run("surrounding whitespace is trimmed",
		ok(`[{"event":"e","distinct_id":"d","token":" phc_abc\n"}]`, "phc_abc"))
	t.Run("dots and dashes allowed",
		ok(`[{"event":"e","distinct_id":"d","token":"sTr1ng-with_all.chars"}]`, "sTr1ng-with_all.chars"))
	t.Run("non-string properties.token is ignored",
		ok(`[{"event":"e","distinct_id":"d","properties":{"token":5}},{"event":"e","distinct_id":"d","token":"tok"}]`, "tok"))

	t.Run("inconsistent per-event tokens",
		bad(`[{"event":"e","distinct_id":"d","token":"a"},{"event":"e","distinct_id":"d","token":"b"}]`, "batch submitted with inconsistent api_key values"))
	t.Run("inconsistent via properties",
		bad(`[{"event":"e","distinct_id":"d","token":"a"},{"event":"e","distinct_id":"d","properties":{"token":"b"}}]`, "batch submitted with inconsistent api_key values"))
	t.Run("no token anywhere",
		bad(`[{"event":"e","distinct_id":"d","properties":{}}]`, "event submitted without an api_key"))
	t.Run("no token, batch shape",
		bad(`{"batch":[{"event":"e","distinct_id":"d"}]}`, "event submitted without an api_key"))
	t.Run("null tokens count as none",
		bad(`{"api_key":null,"batch":[{"event":"e","distinct_id":"d","token":null}]}`, "event submitted without an api_key"))
	t.Run("empty batch-level token",
		bad(`{"api_key":"","batch":[{"event":"e","distinct_id":"d","token":"ok"}]}`, "API key is not valid: empty"))
	t.Run("blank token",
		bad(`[{"event":"e","distinct_id":"d","token":"   "}]`, "API key is not valid: empty"))
	t.Run("too long",
		bad(`[{"event":"e","distinct_id":"d","token":"`+strings.Repeat("x", 129)+`"}]`, "API key is not valid: too_long"))
	t.Run("bad characters",
		bad(`[{"event":"e","distinct_id":"d","token":"phc_abc/../x"}]`, "API key is not valid: invalid_characters"))
	t.Run("non-ASCII",
		bad(`[{"event":"e","distinct_id":"d","token":"phc_🦀"}]`, "API key is not valid: invalid_characters"))
	t.Run("inner space",
		bad(`[{"event":"e","distinct_id":"d","token":"phc abc"}]`, "API key is not valid: invalid_characters"))
	t.Run("number",
		bad(`[{"event":"e","distinct_id":"d","token":12345}]`, "API key is not valid: not_string"))
	t.Run("personal API key",
		bad(`[{"event":"e","distinct_id":"d","token":"phx_personal"}]`, "API key is not valid: personal_api_key"))
	t.Run("128 chars is fine",
		ok(`[{"event":"e","distinct_id":"d","token":"`+strings.Repeat("x", 128)+`"}]`, strings.Repeat("x", 128)))

	t.Run("token errors come before event errors", func(t *testing.T) {
		wantErr(t, newReq(t, "POST", "/e", []byte(`[{"distinct_id":"d"}]`), ""), EndpointEvent,
			http.StatusUnauthorized, "event submitted without an api_key")
	})
	t.Run("malformed token message is short", func(t *testing.T) {
		e := wantErr(t, newReq(t, "POST", "/e", []byte(`[{"event":"e","distinct_id":"d","token":"`+strings.Repeat("!", 5000)+`"}]`), ""),
			EndpointEvent, http.StatusUnauthorized, "API key is not valid: ")
		if len(e.Message) > 100 {
			t.Errorf("message is %d bytes", len(e.Message))
		}
	})
}

func TestDecodeEvents(t *testing.T) {
	t.Run("engage fills $identify", func(t *testing.T) {
		for _, body := range []string{
			`{"$set":{"email":"a@b.c"},"distinct_id":"u1","token":"tok"}`,
			`{"event":null,"$set":{"email":"a@b.c"},"distinct_id":"u1","token":"tok"}`,
			`{"event":"","$set":{"email":"a@b.c"},"distinct_id":"u1","token":"tok"}`,
			`{ "$set" : { "email" : "a@b.c" } , "distinct_id" : "u1" , "token" : "tok" , "event" : "" }`,
		} {
			b := mustDecode(t, newReq(t, "POST", "/engage", []byte(body), ""), EndpointEngage)
			ev := b.Events[0]
			if ev.Name != "$identify" || ev.DistinctID != "u1" {
				t.Errorf("%s: got %q/%q", body, ev.Name, ev.DistinctID)
			}
			var m map[string]any
			if err := json.Unmarshal(ev.Raw, &m); err != nil {
				t.Fatal(err)
			}
			if m["event"] != "$identify" || m["distinct_id"] != "u1" || m["$set"].(map[string]any)["email"] != "a@b.c" || len(m) != 4 {
				t.Errorf("Raw = %s", ev.Raw)
			}
		}
	})
	t.Run("engage keeps a given name", func(t *testing.T) {
		body := `[{"event":"$set","distinct_id":"u1","token":"tok"}]`
		b := mustDecode(t, newReq(t, "POST", "/engage/", []byte(body), ""), EndpointEngage)
		if b.Events[0].Name != "$set" || string(b.Events[0].Raw) != body[1:len(body)-1] {
			t.Errorf("got %q %s", b.Events[0].Name, b.Events[0].Raw)
		}
	})

	okID := func(body, want string) func(t *testing.T) {
		return func(t *testing.T) {
			b := mustDecode(t, newReq(t, "POST", "/e", []byte(body), ""), EndpointEvent)
			if got := b.Events[0].DistinctID; got != want {
				t.Errorf("DistinctID = %q, want %q", got, want)
			}
		}
	}
	t.Run("distinct_id from properties", okID(`{"event":"e","token":"t","properties":{"distinct_id":"p"}}`, "p"))
	t.Run("$distinct_id", okID(`{"event":"e","token":"t","$distinct_id":"dd"}`, "dd"))
	t.Run("top level wins", okID(`{"event":"e","token":"t","distinct_id":23,"properties":{"distinct_id":"p"}}`, "23"))
	t.Run("null top level falls back", okID(`{"event":"e","token":"t","distinct_id":null,"properties":{"distinct_id":"p"}}`, "p"))
	t.Run("integer", okID(`{"event":"e","token":"t","distinct_id":1234567890123456789012}`, "1234567890123456789012"))
	t.Run("float kept as sent", okID(`{"event":"e","token":"t","distinct_id":23.50}`, "23.50"))
	t.Run("negative exponent", okID(`{"event":"e","token":"t","properties":{"distinct_id":-1e3}}`, "-1e3"))
	t.Run("escaped string", okID(`{"event":"e","token":"t","distinct_id":"a\"b\u00e9"}`, `a"bé`))

	t.Run("uuid normalised", func(t *testing.T) {
		b := mustDecode(t, newReq(t, "POST", "/e", []byte(`[{"event":"e","distinct_id":"d","token":"t","uuid":"0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B","timestamp":"2024-05-01T10:00:00+02:00"},{"event":"e","distinct_id":"d","token":"t","uuid":""}]`), ""), EndpointEvent)
		if b.Events[0].UUID != "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b" || b.Events[0].Timestamp != "2024-05-01T10:00:00+02:00" {
			t.Errorf("got %+v", b.Events[0])
		}
		if b.Events[1].UUID != "" || b.Events[1].Timestamp != "" {
			t.Errorf("got %+v", b.Events[1])
		}
	})
	t.Run("key matching is exact", func(t *testing.T) {
		b := mustDecode(t, newReq(t, "POST", "/e", []byte(`{"Event":"wrong","event":"right","EVENT":"wrong","distinct_id":"d","Token":"x","token":"t"}`), ""), EndpointEvent)
		if b.Events[0].Name != "right" || b.Token != "t" {
			t.Errorf("got %q %q", b.Events[0].Name, b.Token)
		}
	})
	t.Run("escaped key", func(t *testing.T) {
		b := mustDecode(t, newReq(t, "POST", "/e", []byte(`{"\u0065vent":"esc","distinct_id":"d","token":"t"}`), ""), EndpointEvent)
		if b.Events[0].Name != "esc" {
			t.Errorf("got %q", b.Events[0].Name)
		}
	})
	t.Run("unpaired surrogate escapes are replaced", func(t *testing.T) {
		b := mustDecode(t, newReq(t, "POST", "/e", []byte(`{"event":"e","distinct_id":"d","token":"t","properties":{"a":"x\ud83d","b":"\ud83d\ude42","c":"\\ud83d","d":"\uDC00y"}}`), ""), EndpointEvent)
		want := `{"event":"e","distinct_id":"d","token":"t","properties":{"a":"x\ufffd","b":"\ud83d\ude42","c":"\\ud83d","d":"\ufffdy"}}`
		if string(b.Events[0].Raw) != want {
			t.Errorf("Raw = %s", b.Events[0].Raw)
		}
	})

	bad := func(ep Endpoint, body, msg string) func(t *testing.T) {
		return func(t *testing.T) {
			wantErr(t, newReq(t, "POST", "/e", []byte(body), ""), ep, http.StatusBadRequest, msg)
		}
	}
	t.Run("missing event", bad(EndpointEvent, `[{"distinct_id":"d","token":"t"}]`, "event submitted with an empty event name"))
	t.Run("empty event", bad(EndpointEvent, `[{"event":"","distinct_id":"d","token":"t"}]`, "event submitted with an empty event name"))
	t.Run("null event", bad(EndpointBatch, `[{"event":null,"distinct_id":"d","token":"t"}]`, "event submitted with an empty event name"))
	t.Run("numeric event", bad(EndpointEvent, `[{"event":5,"distinct_id":"d","token":"t"}]`, "failed to parse request: event name must be a string"))
	t.Run("missing event in second event", bad(EndpointEvent, `[{"event":"e","distinct_id":"d","token":"t"},{"distinct_id":"d","token":"t"}]`, "event submitted with an empty event name"))
	t.Run("missing distinct_id", bad(EndpointEvent, `[{"event":"e","token":"t","properties":{}}]`, "event submitted without a distinct_id"))
	t.Run("null distinct_id", bad(EndpointEvent, `[{"event":"e","distinct_id":null,"token":"t"}]`, "event submitted without a distinct_id"))
	t.Run("empty distinct_id", bad(EndpointEvent, `[{"event":"e","distinct_id":"","token":"t"}]`, "event submitted with an empty distinct_id"))
	t.Run("empty properties.distinct_id", bad(EndpointEvent, `[{"event":"e","token":"t","properties":{"distinct_id":""}}]`, "event submitted with an empty distinct_id"))
	t.Run("bool distinct_id", bad(EndpointEvent, `[{"event":"e","distinct_id":true,"token":"t"}]`, "distinct_id must be a string or a number"))
	t.Run("object distinct_id", bad(EndpointEvent, `[{"event":"e","distinct_id":{"a":1},"token":"t"}]`, "distinct_id must be a string or a number"))
	t.Run("engage still needs a distinct_id", bad(EndpointEngage, `{"$set":{},"token":"t"}`, "event submitted without a distinct_id"))
	t.Run("invalid uuid", bad(EndpointEvent, `[{"event":"e","distinct_id":"d","token":"t","uuid":"not-a-uuid"}]`, "failed to parse request: invalid uuid"))
	t.Run("uuid without dashes", bad(EndpointEvent, `[{"event":"e","distinct_id":"d","token":"t","uuid":"0190a1b2c3d47e5f8a9b0c1d2e3f4a5b"}]`, "failed to parse request: invalid uuid"))
	t.Run("uuid not hex", bad(EndpointEvent, `[{"event":"e","distinct_id":"d","token":"t","uuid":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g"}]`, "failed to parse request: invalid uuid"))
	t.Run("numeric uuid", bad(EndpointEvent, `[{"event":"e","distinct_id":"d","token":"t","uuid":5}]`, "failed to parse request: uuid must be a string"))
	t.Run("invalid uuid beats missing token", bad(EndpointEvent, `[{"event":"e","distinct_id":"d","uuid":"x"}]`, "failed to parse request: invalid uuid"))
	t.Run("numeric timestamp", bad(EndpointEvent, `[{"event":"e","distinct_id":"d","token":"t","timestamp":1714557600}]`, "failed to parse request: timestamp must be a string"))
	t.Run("event not an object", bad(EndpointEvent, `[{"event":"e","distinct_id":"d","token":"t"},"x"]`, "failed to parse request: each event must be a JSON object"))
	t.Run("properties not an object", bad(EndpointEvent, `[{"event":"e","distinct_id":"d","token":"t","properties":[1]}]`, "failed to parse request: event properties must be an object"))
	t.Run("batch not an array", bad(EndpointBatch, `{"api_key":"t","batch":{"event":"e"}}`, "failed to parse request: batch must be an array"))
	t.Run("empty array", bad(EndpointEvent, `[]`, "request holds no event"))
	t.Run("empty batch", bad(EndpointBatch, `{"api_key":"t","batch":[]}`, "request holds no event"))
}

func TestDecodeLimits(t *testing.T) {
	testenv.Slow(t, "decodes payloads at every size limit, decompression bombs included")
	// The subtests run side by side, after the one that measures what the
	// process allocates, which runs alone (in this body: no other test of
	// the package runs until it returns).
	// padded returns a valid one-event payload of exactly n bytes.
	padded := func(n int) []byte {
		b := []byte(`[{"event":"e","distinct_id":"d","token":"t"}]`)
		return append(b, bytes.Repeat([]byte(" "), n-len(b))...)
	}
	const mib = 1 << 20

	t.Run("body at the limit", func(t *testing.T) {
		t.Parallel()
		mustDecode(t, newReq(t, "POST", "/e", padded(2*mib), ""), EndpointEvent)
	})
	t.Run("body over the limit", func(t *testing.T) {
		t.Parallel()
		wantErr(t, newReq(t, "POST", "/e", padded(2*mib+1), ""), EndpointEvent, http.StatusRequestEntityTooLarge, "request body exceeds the 2097152 byte limit")
	})
	t.Run("body over the limit, length unknown", func(t *testing.T) {
		t.Parallel()
		r := httptest.NewRequest("POST", "/e", unsized{bytes.NewReader(padded(2*mib + 1))})
		if r.ContentLength > 0 {
			t.Fatal("length should be unknown")
		}
		wantErr(t, r, EndpointEvent, http.StatusRequestEntityTooLarge, "request body exceeds")
	})
	t.Run("engage has the 2 MiB limit", func(t *testing.T) {
		t.Parallel()
		wantErr(t, newReq(t, "POST", "/engage", padded(2*mib+1), ""), EndpointEngage, http.StatusRequestEntityTooLarge, "request body exceeds")
	})
	t.Run("batch accepts 20 MiB", func(t *testing.T) {
		t.Parallel()
		mustDecode(t, newReq(t, "POST", "/batch", padded(20*mib), ""), EndpointBatch)
	})
	t.Run("batch refuses 20 MiB + 1", func(t *testing.T) {
		t.Parallel()
		wantErr(t, newReq(t, "POST", "/batch", padded(20*mib+1), ""), EndpointBatch, http.StatusRequestEntityTooLarge, "request body exceeds the 20971520 byte limit")
	})
	t.Run("query data over the limit", func(t *testing.T) {
		t.Parallel()
		wantErr(t, newReq(t, "GET", "/e?data="+strings.Repeat("A", 2*mib+4), nil, ""), EndpointEvent, http.StatusRequestEntityTooLarge, "request payload exceeds")
	})
	t.Run("gzip decompressing to exactly the limit", func(t *testing.T) {
		t.Parallel()
		mustDecode(t, newReq(t, "POST", "/e", gz(t, padded(2*mib)), ""), EndpointEvent)
	})
	t.Run("gzip decompressing past the limit", func(t *testing.T) {
		t.Parallel()
		wantErr(t, newReq(t, "POST", "/e", gz(t, padded(2*mib+1)), ""), EndpointEvent, http.StatusRequestEntityTooLarge, "decompressed payload exceeds the 2097152 byte limit")
	})
	t.Run("gzip bomb on /batch", func(t *testing.T) {
		t.Parallel()
		bomb := gz(t, make([]byte, 21*mib))
		if len(bomb) > 64<<10 {
			t.Fatalf("bomb is %d bytes", len(bomb))
		}
		wantErr(t, newReq(t, "POST", "/batch", bomb, ""), EndpointBatch, http.StatusRequestEntityTooLarge, "decompressed payload exceeds the 20971520 byte limit")
	})
	t.Run("gzip bomb does not allocate its size", func(t *testing.T) {
		bomb := gz(t, make([]byte, 40*mib)) // 20 times the limit
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		wantErr(t, newReq(t, "POST", "/e?compression=gzip", bomb, ""), EndpointEvent, http.StatusRequestEntityTooLarge, "decompressed payload exceeds")
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		if alloc > 12*mib {
			t.Errorf("decoding a %d byte bomb allocated %d bytes", len(bomb), alloc)
		}
		t.Logf("a %d byte bomb of 40 MiB allocated %d bytes", len(bomb), alloc)
	})
	t.Run("gzip bomb in base64 form data", func(t *testing.T) {
		t.Parallel()
		bomb := base64.StdEncoding.EncodeToString(gz(t, make([]byte, 3*mib)))
		wantErr(t, newReq(t, "POST", "/e?compression=gzip", form("data", bomb), "application/x-www-form-urlencoded"), EndpointEvent, http.StatusRequestEntityTooLarge, "decompressed payload exceeds")
	})
	t.Run("lz64 bomb", func(t *testing.T) {
		t.Parallel()
		bomb := CompressToBase64(strings.Repeat("A", 3*mib))
		wantErr(t, newReq(t, "POST", "/e?compression=lz64", []byte(bomb), ""), EndpointEvent, http.StatusRequestEntityTooLarge, "decompressed payload exceeds")
	})
	t.Run("lz64 over the limit only as UTF-8", func(t *testing.T) {
		t.Parallel()
		// 1 Mi code units of U+00E9 are 2 MiB of UTF-8, plus the JSON around them.
		body := `[{"event":"e","distinct_id":"d","token":"t","p":"` + strings.Repeat("é", mib) + `"}]`
		wantErr(t, newReq(t, "POST", "/e?compression=lz64", []byte(CompressToBase64(body)), ""), EndpointEvent, http.StatusRequestEntityTooLarge, "decompressed payload exceeds")
	})
}

func TestEndpointFor(t *testing.T) {
	tests := []struct {
		path string
		ep   Endpoint
		ok   bool
	}{
		{"/e", EndpointEvent, true}, {"/e/", EndpointEvent, true},
		{"/i/v0/e", EndpointEvent, true}, {"/i/v0/e/", EndpointEvent, true},
		{"/capture", EndpointEvent, true}, {"/capture/", EndpointEvent, true},
		{"/track", EndpointEvent, true}, {"/track/", EndpointEvent, true},
		{"/engage", EndpointEngage, true}, {"/engage/", EndpointEngage, true},
		{"/batch", EndpointBatch, true}, {"/batch/", EndpointBatch, true},
		{"/i/v0/ai/batch", EndpointBatch, true}, {"/i/v0/ai/batch/", EndpointBatch, true}, {"/i/v0/ai", 0, false},
		{"/", 0, false}, {"", 0, false}, {"/decide", 0, false}, {"/e//", 0, false},
		{"/E", 0, false}, {"/batch/x", 0, false}, {"e", 0, false}, {"/i/v0/e/x", 0, false},
	}
	for _, tt := range tests {
		ep, ok := EndpointFor(tt.path)
		if ok != tt.ok || (ok && ep != tt.ep) {
			t.Errorf("EndpointFor(%q) = %v, %v; want %v, %v", tt.path, ep, ok, tt.ep, tt.ok)
		}
	}
	if EndpointEvent.MaxBody() != 2*1024*1024 || EndpointEngage.MaxBody() != 2*1024*1024 || EndpointBatch.MaxBody() != 20*1024*1024 {
		t.Error("MaxBody limits wrong")
	}
	if EndpointBatch.String() != "/batch" {
		t.Error(EndpointBatch.String())
	}
}

func TestDecodeNilRequest(t *testing.T) {
	if _, err := Decode(nil, EndpointEvent); err == nil {
		t.Fatal("nil request decoded")
	}
	r := &http.Request{Method: "POST"} // no URL, no body, no header
	var e *Error
	if _, err := Decode(r, EndpointEvent); !errors.As(err, &e) || e.Status != 400 {
		t.Fatalf("got %v", err)
	}
}

func TestReadErrorIsBadRequest(t *testing.T) {
	r := httptest.NewRequest("POST", "/e", unsized{io.MultiReader(strings.NewReader("[{"), errReader{})})
	wantErr(t, r, EndpointEvent, 400, "failed to decode request: could not read the request body")
	// An http.MaxBytesReader set by the server maps to 413.
	rec := httptest.NewRecorder()
	r = httptest.NewRequest("POST", "/e", strings.NewReader(samplePayload))
	r.Body = http.MaxBytesReader(rec, r.Body, 10)
	r.ContentLength = -1
	wantErr(t, r, EndpointEvent, 413, "request body exceeds")
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }
