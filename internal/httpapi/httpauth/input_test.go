package httpauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func TestCheckJSONTextNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		attr      string // "" with ok: accepted
		ok        bool
	}{
		{"clean", `{"a":"x","b":[1,"y",{"c":"z"}],"d":null}`, "", true},
		{"escaped backslash before u0000 is not NUL", `{"a":"\\u0000"}`, "", true},
		{"valid multibyte and replacement char", `{"a":"é✓` + "\uFFFD" + `\ufffd"}`, "", true},
		{"surrogate pair", `{"a":"\ud83d\ude00"}`, "", true},
		{"top-level NUL", `{"first_name":"a\u0000"}`, "first_name", false},
		{"after other fields", `{"a":"x","b":{"c":1},"email":"e\u0000"}`, "email", false},
		{"nested object", `{"filters":{"name":"\u0000"}}`, "filters__name", false},
		{"array index", `{"filters":{"groups":[{"k":"ok"},{"k":"\u0000"}]}}`, "filters__groups__1__k", false},
		{"array of strings", `{"scopes":["a","b","\u0000"]}`, "scopes__2", false},
		{"after a nested array", `{"x":[[1,2],[3]],"y":"\u0000"}`, "y", false},
		{"raw invalid byte", "{\"a\":\"ok\",\"name\":\"\xff\"}", "name", false},
		{"truncated multibyte", "{\"name\":\"\xc3\"}", "name", false},
		{"bad key", "{\"ok\":1,\"k\xff\":1}", "k\uFFFD", false},
		{"NUL key", `{"k\u0000":1}`, "k\uFFFD", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckJSONText([]byte(tc.doc))
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			e, ok := gatehouse.AsError(err)
			if !ok || e.Kind != gatehouse.KindInvalid || e.Code != "invalid_input" || e.Attr != tc.attr {
				t.Fatalf("got %#v, want attr %q", e, tc.attr)
			}
		})
	}
}

func TestCheckFormTextFirstBadFieldByName(t *testing.T) {
	if err := checkFormText(url.Values{"a": {"x"}, "b": {"é"}}); err != nil {
		t.Fatal(err)
	}
	err := checkFormText(url.Values{"z": {"\x00"}, "m": {"ok", "\xff"}, "a": {"ok"}})
	if e, ok := gatehouse.AsError(err); !ok || e.Attr != "m" {
		t.Fatalf("%v", err)
	}
}

func FuzzCheckJSONText(f *testing.F) {
	for _, s := range []string{`{"a":"\u0000"}`, `{"a":[{"b":"c"}]}`, "{\"a\":\"\xff\"}", `[1,"x",{"y":null}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := CheckJSONText(doc)
		if err == nil {
			return
		}
		// A refusal is always a validation error naming printable text.
		e, ok := gatehouse.AsError(err)
		if !ok || e.Code != "invalid_input" || !cleanText(e.Attr) {
			t.Fatalf("%q: %v", doc, err)
		}
	})
}

func TestPathFieldNamesTheWildcard(t *testing.T) {
	mux := http.NewServeMux()
	h := http.NotFoundHandler()
	mux.Handle("GET /api/signup/{invite}", h)
	mux.Handle("GET /api/organizations/{org}/invites", h)
	mux.Handle("GET /static/{file...}", h)
	mux.Handle("/", h)
	for path, want := range map[string]string{
		"/api/signup/%00":                     "invite",
		"/api/organizations/%ff/invites":      "org",
		"/api/organizations/@current/invites": "path", // clean: no wildcard to blame
		"/nowhere/%00":                        "path",
		"/static/a/%00/b":                     "file",
	} {
		r := httptest.NewRequest("GET", path, nil)
		if got := pathField(mux, r); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}
