package featureflag

import (
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
)

// referenceHash computes PostHog's formula independently of Hash: the
// first 15 hex digits of SHA-1 as an exact integer, each side rounded to
// the nearest float64 the way JavaScript's Number does, then divided.
func referenceHash(key, id, salt string) float64 {
	sum := sha1.Sum([]byte(key + "." + id + salt))
	n, _ := new(big.Int).SetString(fmt.Sprintf("%x", sum)[:15], 16)
	num, _ := new(big.Float).SetInt(n).Float64()
	den, _ := new(big.Float).SetInt(new(big.Int).SetUint64(0xfffffffffffffff)).Float64()
	return num / den
}

func TestHashMatchesFormula(t *testing.T) {
	for _, tc := range []struct{ key, id, salt string }{
		{"simple-flag", "distinct_id_0", ""},
		{"simple-flag", "distinct_id_1", "variant"},
		{"beta", "", ""},
		{"ünïcode-key", "人", ""},
		{"multivariate-flag", "user@example.com", "variant"},
	} {
		got, want := Hash(tc.key, tc.id, tc.salt), referenceHash(tc.key, tc.id, tc.salt)
		if got != want {
			t.Errorf("Hash(%q, %q, %q) = %v, want %v", tc.key, tc.id, tc.salt, got, want)
		}
		if got < 0 || got > 1 {
			t.Errorf("Hash out of [0,1]: %v", got)
		}
	}
	// The salt is appended to the id, not separated.
	if Hash("k", "ab", "") != Hash("k", "a", "b") {
		t.Fatal(`the salt must be appended directly: sha1("k.ab")`)
	}
	for i := 0; i < 2000; i++ {
		id := fmt.Sprintf("distinct_id_%d", i)
		if Hash("f", id, "") != referenceHash("f", id, "") {
			t.Fatalf("mismatch at %s", id)
		}
	}
}

func pct(p float64) *float64 { return &p }

func TestRolloutShareAndDeterminism(t *testing.T) {
	f := &Flag{Key: "half", Active: true, Filters: Filters{Groups: []Group{{RolloutPercentage: pct(50)}}}}
	on := 0
	for i := 0; i < 10000; i++ {
		id := fmt.Sprintf("user-%d", i)
		r := Evaluate(f, id, nil)
		if r.Enabled != (Hash("half", id, "") <= 0.5) {
			t.Fatalf("%s: enabled=%v but hash %v", id, r.Enabled, Hash("half", id, ""))
		}
		if r != Evaluate(f, id, nil) {
			t.Fatal("not deterministic")
		}
		if r.Enabled {
			on++
		}
	}
	if on < 4700 || on > 5300 {
		t.Fatalf("50%% rollout enabled %d of 10000", on)
	}
	zero := &Flag{Key: "z", Active: true, Filters: Filters{Groups: []Group{{RolloutPercentage: pct(0)}}}}
	all := &Flag{Key: "z", Active: true, Filters: Filters{Groups: []Group{{RolloutPercentage: pct(100)}}}}
	for i := 0; i < 1000; i++ {
		id := fmt.Sprint(i)
		if r := Evaluate(zero, id, nil); r.Enabled || r.Reason != ReasonOutOfRollout {
			t.Fatalf("0%% enabled %s: %+v", id, r)
		}
		if !Evaluate(all, id, nil).Enabled {
			t.Fatalf("100%% disabled %s", id)
		}
	}
}

func TestVariants(t *testing.T) {
	f := &Flag{Key: "mv", Active: true, Filters: Filters{
		Groups: []Group{{}},
		Multivariate: &Multivariate{Variants: []Variant{
			{Key: "control", RolloutPercentage: 33.3}, {Key: "test", RolloutPercentage: 33.3}, {Key: "other", RolloutPercentage: 33.4}}},
	}}
	counts := map[string]int{}
	for i := 0; i < 9000; i++ {
		id := fmt.Sprintf("id-%d", i)
		r := Evaluate(f, id, nil)
		h := Hash("mv", id, "variant")
		want := "other"
		if h < 0.333 {
			want = "control"
		} else if h < 0.333+0.333 {
			want = "test"
		}
		if r.Variant != want || r.Value() != want {
			t.Fatalf("%s (hash %v): variant %q, want %q", id, h, r.Variant, want)
		}
		counts[r.Variant]++
	}
	for k, n := range counts {
		if n < 2700 || n > 3300 {
			t.Fatalf("variant %s got %d of 9000", k, n)
		}
	}
	// A group's variant override wins over hashing.
	test := "test"
	f.Filters.Groups = []Group{{Variant: &test}}
	for i := 0; i < 100; i++ {
		if v := Evaluate(f, fmt.Sprint(i), nil).Variant; v != "test" {
			t.Fatalf("override ignored: %q", v)
		}
	}
}

func TestPayload(t *testing.T) {
	f := &Flag{Key: "p", Active: true, Filters: Filters{Groups: []Group{{}}, Payloads: map[string]string{"true": `{"a":1}`}}}
	r := Evaluate(f, "x", nil)
	if f.Payload(r) != `{"a":1}` {
		t.Fatalf("payload %q", f.Payload(r))
	}
	if f.Payload(Result{}) != "" {
		t.Fatal("a disabled flag has no payload")
	}
}

func prop(key, op string, value any) Property {
	b, _ := json.Marshal(value)
	return Property{Key: key, Operator: op, Value: b, Type: "person"}
}

func TestMatchProperty(t *testing.T) {
	props := map[string]any{
		"email": "Jane@Example.com", "plan": "pro", "age": json.Number("42"), "beta": true,
		"version": "10", "nothing": nil, "flag_str": "TRUE", "score": json.Number("3.5"),
	}
	for _, tc := range []struct {
		p    Property
		want bool
	}{
		{prop("plan", "exact", "pro"), true},
		{prop("plan", "", "PRO"), true},
		{prop("plan", "exact", []string{"free", "pro"}), true},
		{prop("plan", "exact", []string{"free"}), false},
		{prop("plan", "is_not", "pro"), false},
		{prop("plan", "is_not", []string{"free"}), true},
		{prop("age", "exact", 42), true},
		{prop("age", "exact", "42"), true},
		{prop("beta", "exact", true), true},
		{prop("beta", "exact", "true"), true},
		{prop("beta", "exact", false), false},
		{prop("flag_str", "exact", true), true},
		{prop("email", "icontains", "example.COM"), true},
		{prop("email", "not_icontains", "example"), false},
		{prop("email", "regex", `^jane@`), false},
		{prop("email", "regex", `^Jane@`), true},
		{prop("email", "not_regex", `gmail`), true},
		{prop("email", "regex", `(`), false},
		{prop("email", "not_regex", `(`), false},
		{prop("age", "gt", 41), true},
		{prop("age", "gt", 42), false},
		{prop("age", "gte", "42"), true},
		{prop("age", "lt", 100), true},
		{prop("age", "lte", 41.5), false},
		{prop("score", "gt", 3), true},
		{prop("version", "gt", 9), true}, // numeric, not "10" < "9"
		{prop("plan", "gt", "free"), true},
		{prop("email", "is_set", nil), true},
		{prop("email", "is_not_set", nil), false},
		{prop("missing", "is_set", nil), false},
		{prop("missing", "is_not_set", nil), true},
		{prop("missing", "exact", "x"), false},
		{prop("missing", "is_not", "x"), false},
		{prop("nothing", "exact", "null"), true},
		{prop("nothing", "gt", 1), false},
		{prop("email", "starts_with", "jane"), true},
		{prop("email", "ends_with", ".org"), false},
	} {
		if got := MatchProperty(tc.p, props); got != tc.want {
			t.Errorf("%s %s %s: got %v, want %v", tc.p.Key, tc.p.Operator, tc.p.Value, got, tc.want)
		}
	}
}

func TestEvaluateGroupsInOrder(t *testing.T) {
	f := &Flag{Key: "g", Active: true, Filters: Filters{Groups: []Group{
		{Properties: []Property{prop("plan", "exact", "pro")}, RolloutPercentage: pct(0)},
		{Properties: []Property{prop("email", "icontains", "@example.com")}},
	}}}
	r := Evaluate(f, "u", map[string]any{"plan": "pro", "email": "a@example.com"})
	if !r.Enabled || r.ConditionIndex != 1 || r.Reason != ReasonConditionMatch || r.Description() != "Matched condition set 2" {
		t.Fatalf("%+v", r)
	}
	r = Evaluate(f, "u", map[string]any{"plan": "pro"})
	if r.Enabled || r.Reason != ReasonOutOfRollout || r.ConditionIndex != 0 {
		t.Fatalf("%+v", r)
	}
	r = Evaluate(f, "u", map[string]any{"plan": "free"})
	if r.Enabled || r.Reason != ReasonNoConditionMatch {
		t.Fatalf("%+v", r)
	}
	f.Active = false
	if r := Evaluate(f, "u", map[string]any{"plan": "pro", "email": "a@example.com"}); r.Enabled || r.Reason != ReasonDisabled || r.Value() != false {
		t.Fatalf("inactive: %+v", r)
	}
	none := &Flag{Key: "n", Active: true}
	if Evaluate(none, "u", nil).Enabled {
		t.Fatal("a flag without groups matches nobody")
	}
}

func TestValidateKey(t *testing.T) {
	for _, k := range []string{"beta", "new-checkout_2", "A"} {
		if err := ValidateKey(k); err != nil {
			t.Errorf("%q: %v", k, err)
		}
	}
	for _, k := range []string{"", "has space", "semi;colon", "ü", strings.Repeat("a", 401), "a.b"} {
		var ve *ValidationError
		if err := ValidateKey(k); !errors.As(err, &ve) || ve.Attr != "key" {
			t.Errorf("%q accepted: %v", k, err)
		}
	}
}

func TestValidateFilters(t *testing.T) {
	parse := func(s string) *Filters {
		var f Filters
		if err := json.Unmarshal([]byte(s), &f); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		return &f
	}
	good := []string{
		`{}`,
		`{"groups":[{"properties":[],"rollout_percentage":null}]}`,
		`{"groups":[{"properties":[{"key":"email","value":"x","operator":"icontains","type":"person"}],"rollout_percentage":25.5}]}`,
		`{"groups":[{"rollout_percentage":100,"variant":"b"}],"multivariate":{"variants":[{"key":"a","rollout_percentage":50},{"key":"b","rollout_percentage":50}]},"payloads":{"a":"{\"x\":1}","b":{"y":2}}}`,
		`{"groups":[{"properties":[{"key":"email","operator":"is_set"}]}]}`,
		`{"groups":[{}],"multivariate":{"variants":[{"key":"a","rollout_percentage":33.3},{"key":"b","rollout_percentage":33.3},{"key":"c","rollout_percentage":33.4}]}}`,
	}
	for _, s := range good {
		if err := ValidateFilters(parse(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := []string{
		`{"groups":[{"rollout_percentage":101}]}`,
		`{"groups":[{"rollout_percentage":-1}]}`,
		`{"multivariate":{"variants":[{"key":"a","rollout_percentage":50},{"key":"b","rollout_percentage":40}]}}`,
		`{"multivariate":{"variants":[{"key":"a","rollout_percentage":50},{"key":"a","rollout_percentage":50}]}}`,
		`{"multivariate":{"variants":[{"key":"","rollout_percentage":100}]}}`,
		`{"multivariate":{"variants":[{"key":"a","rollout_percentage":150},{"key":"b","rollout_percentage":-50}]}}`,
		`{"groups":[{"variant":"nope"}],"multivariate":{"variants":[{"key":"a","rollout_percentage":100}]}}`,
		`{"groups":[{"properties":[{"key":"x","operator":"is_date_exact","value":"1"}]}]}`,
		`{"groups":[{"properties":[{"key":"","value":"1"}]}]}`,
		`{"groups":[{"properties":[{"key":"x","type":"cohort","value":3}]}]}`,
		`{"groups":[{"properties":[{"key":"x","operator":"regex","value":"("}]}]}`,
		`{"groups":[{"properties":[{"key":"x","value":{"a":1}}]}]}`,
		`{"payloads":{"variant-x":"1"}}`,
		`{"aggregation_group_type_index":0}`,
	}
	for _, s := range bad {
		var ve *ValidationError
		if err := ValidateFilters(parse(s)); !errors.As(err, &ve) || ve.Attr != "filters" {
			t.Errorf("%s accepted: %v", s, err)
		}
	}
	// Payloads keep their JSON text; objects become strings.
	f := parse(`{"payloads":{"true":{"a":[1,2]}}}`)
	if err := ValidateFilters(f); err != nil || f.Payloads["true"] != `{"a":[1,2]}` {
		t.Fatalf("%v %q", err, f.Payloads["true"])
	}
	out, _ := json.Marshal(Filters{})
	if string(out) != `{"groups":[],"multivariate":null,"payloads":{},"aggregation_group_type_index":null}` {
		t.Fatalf("empty filters JSON %s", out)
	}
}
