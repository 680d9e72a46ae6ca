package capture

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzScanner checks the scanner against encoding/json on valid JSON: it must
// never call valid text malformed, and must find the same members and
// elements.
func FuzzScanner(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `{"a":1,"b":[1,{"c":"}"}],"d":"x\"y\\"}`, ` [ 1 , "two" , {"3":null} , [[]] , -1.5e3 , true ] `,
		`{"a":{"b":{"c":[{"d":"\u00e9\ud83d\ude42"}]}},"a":2}`, `{"\u0061":1,"a\\":2}`, samplePayload,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) || !utf8.Valid(b) { // Decode checks UTF-8 before scanning
			return
		}
		b = trimSpace(b)
		switch b[0] {
		case '{':
			want := map[string]json.RawMessage{}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			got := map[string][]byte{}
			end, err := walkObject(b, 0, func(k []byte, v int) (int, error) {
				e, err := valueEnd(b, v)
				if err != nil {
					return 0, err
				}
				got[string(keyName(k))] = b[v:e]
				return e, nil
			})
			if err != nil || end != len(b) {
				t.Fatalf("walkObject(%q) = %d, %v", b, end, err)
			}
			// Map keys are matched exactly, so the sets must agree.
			if len(got) != len(want) {
				t.Fatalf("%q: got %d members, want %d", b, len(got), len(want))
			}
			for k, w := range want {
				if g, ok := got[k]; !ok || !bytes.Equal(compact(t, g), compact(t, w)) {
					t.Fatalf("%q: member %q = %q, want %q", b, k, g, w)
				}
			}
		case '[':
			var want []json.RawMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			n := 0
			end, err := walkArray(b, 0, func(v int) (int, error) {
				e, err := valueEnd(b, v)
				if err != nil {
					return 0, err
				}
				if n >= len(want) || !bytes.Equal(compact(t, b[v:e]), compact(t, want[n])) {
					t.Fatalf("%q: element %d = %q", b, n, b[v:e])
				}
				n++
				return e, nil
			})
			if err != nil || end != len(b) || n != len(want) {
				t.Fatalf("walkArray(%q) = %d, %v; %d of %d elements", b, end, err, n, len(want))
			}
		}
	})
}

func compact(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatalf("compact %q: %v", b, err)
	}
	return buf.Bytes()
}

func TestFixLoneSurrogates(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, `"plain"`},
		{`"\ud83d\ude42"`, `"\ud83d\ude42"`},
		{`"\uD83D\uDE42"`, `"\uD83D\uDE42"`},
		{`"\ud83d"`, `"\ufffd"`},
		{`"\ude42\ud83d"`, `"\ufffd\ufffd"`},
		{`"\ud83d\ud83d\ude42"`, `"\ufffd\ud83d\ude42"`},
		{`"\\ud83d"`, `"\\ud83d"`},
		{`"\\\ud83d"`, `"\\\ufffd"`},
		{`"\ud83dx"`, `"\ufffdx"`},
		{`"\u00e9\n"`, `"\u00e9\n"`},
	}
	for _, tt := range tests {
		if got := string(fixLoneSurrogates([]byte(tt.in))); got != tt.want {
			t.Errorf("fixLoneSurrogates(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
	in := []byte(`"ok"`)
	if out := fixLoneSurrogates(in); &out[0] != &in[0] {
		t.Error("unchanged input was copied")
	}
}
