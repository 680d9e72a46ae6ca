package capture

import (
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	``, ` `, `{}`, `[]`, `{ }`, `[ ]`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e5`, `1E+5`, `1e-`, `1e`, `.5`, `-.5`,
	`true`, `tru`, `truex`, `null`, `nul`, `false`, `"a"`, `"a`, `"\u00e9"`, `"\u00g9"`, `"\u00e"`, `"\x"`, `"\/"`,
	"\"\x01\"", "\"\xff\"", "\"\\", `{"a":1}`, `{"a" : [1, 2, {"b": null}] }`, `{"a":1,}`, `[1,]`, `[,1]`,
	`{"a"}`, `{"a":}`, `{1:2}`, `[1 2]`, `{"a":1 "b":2}`, `[1]]`, `[[1]`, `{}}`, `{"a":{"b":{}}}`, " \t\r\n[1]\n",
	`[1] [2]`, `"a" "b"`, `[true,false,null]`, `{"a":"b","c":[{"d":-1.5e-3}]}`, `]`, `}`, `,`, `:`, `{"a",1}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat(`{"a":`, 10000) + "{}" + strings.Repeat("}", 10000),
	samplePayload,
}

func TestValidJSONAgreesWithEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.40q) = %v, json.Valid says %v", c, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}
