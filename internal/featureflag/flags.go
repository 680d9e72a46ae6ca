// Package featureflag holds feature-flag definitions and their evaluation, with no
// I/O: the filters PostHog stores on a flag (groups of property conditions,
// rollout percentages, multivariate variants, payloads), their validation,
// and the deterministic hashing that decides who is in a rollout and which
// variant they see. The hashing is PostHog's, bit for bit, so that a person
// gets the same answer from Gatehouse's /flags as from a server SDK
// (posthog-node, posthog-python) that evaluates the definitions locally.
package featureflag

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Flag is one feature flag's definition as evaluation needs it.
type Flag struct {
	ID      int64
	Key     string
	Name    string
	Active  bool
	Version int
	Filters Filters
}

// Filters is the "filters" object of a flag, in PostHog's JSON shape.
type Filters struct {
	// Groups are the release conditions; a person matches the flag when
	// any group matches (the first one decides the reason).
	Groups []Group `json:"groups"`
	// Multivariate, when set, lists the variants a matching person is
	// split between.
	Multivariate *Multivariate `json:"multivariate"`
	// Payloads maps a match value ("true" or a variant key) to a JSON
	// payload, kept as its JSON text in a string as PostHog stores it.
	Payloads map[string]string `json:"payloads"`
	// AggregationGroupTypeIndex is PostHog's group-flag switch. Gatehouse
	// has no group types, so validation accepts only null.
	AggregationGroupTypeIndex *int `json:"aggregation_group_type_index"`
}

// Group is one release condition: every property must match, then the
// person must fall inside the rollout.
type Group struct {
	Properties []Property `json:"properties"`
	// RolloutPercentage is 0–100; nil means everyone who matches.
	RolloutPercentage *float64 `json:"rollout_percentage"`
	// Variant, when set to a variant key, overrides the variant hashing
	// for people matched by this group.
	Variant *string `json:"variant,omitempty"`
}

// Property is one condition on a person property.
type Property struct {
	Key string `json:"key"`
	// Value is the filter value: a JSON scalar or an array of them.
	Value    json.RawMessage `json:"value"`
	Operator string          `json:"operator,omitempty"`
	Type     string          `json:"type,omitempty"`
}

// Multivariate lists a flag's variants.
type Multivariate struct {
	Variants []Variant `json:"variants"`
}

// Variant is one value of a multivariate flag and its share of people.
type Variant struct {
	Key               string  `json:"key"`
	Name              string  `json:"name,omitempty"`
	RolloutPercentage float64 `json:"rollout_percentage"`
}

// longScale is 0xfffffffffffffff (15 hex digits). PostHog's SDKs divide by
// it as a float64 (in JavaScript the constant itself rounds to 2^60), and
// so must we, to agree to the last bit.
const longScale = float64(0xfffffffffffffff)

// Hash is PostHog's bucketing hash: the first 15 hex digits of
// SHA-1("<key>.<bucketingValue><salt>") read as an integer and divided by
// 0xfffffffffffffff, giving a number in [0, 1].
func Hash(key, bucketingValue, salt string) float64 {
	sum := sha1.Sum([]byte(key + "." + bucketingValue + salt))
	n, _ := strconv.ParseUint(hex.EncodeToString(sum[:])[:15], 16, 64)
	// float64(n) rounds to nearest, as JavaScript's parseInt does for
	// values above 2^53.
	return float64(n) / longScale
}

// Reason codes, as PostHog's flags service names them.
const (
	ReasonConditionMatch   = "condition_match"
	ReasonNoConditionMatch = "no_condition_match"
	ReasonOutOfRollout     = "out_of_rollout_bound"
	ReasonDisabled         = "flag_disabled"
)

// Result is the outcome of evaluating one flag for one person.
type Result struct {
	// Enabled is true when the person matched.
	Enabled bool
	// Variant is the variant key for a multivariate flag, else "".
	Variant string
	// Reason is one of the Reason* codes; ConditionIndex is the index of
	// the deciding group, or -1.
	Reason         string
	ConditionIndex int
}

// Value is the flag's value as clients see it: false, true, or the variant.
func (r Result) Value() any {
	switch {
	case !r.Enabled:
		return false
	case r.Variant != "":
		return r.Variant
	}
	return true
}

// Description is the human text PostHog gives for a reason.
func (r Result) Description() string {
	switch r.Reason {
	case ReasonConditionMatch:
		return fmt.Sprintf("Matched condition set %d", r.ConditionIndex+1)
	case ReasonOutOfRollout:
		return fmt.Sprintf("Out of rollout bound for condition set %d", r.ConditionIndex+1)
	case ReasonDisabled:
		return "Feature flag is disabled"
	}
	return "No matching condition set"
}

// Payload returns the payload (JSON text) for the result's value, or "".
func (f *Flag) Payload(r Result) string {
	if !r.Enabled || f.Filters.Payloads == nil {
		return ""
	}
	key := "true"
	if r.Variant != "" {
		key = r.Variant
	}
	return f.Filters.Payloads[key]
}

// Evaluate decides the flag for the person with bucketing value distinctID
// and the given person properties (decoded with json.Decoder.UseNumber, so
// numbers keep their text). It follows posthog-node's local evaluation:
// groups in order, the first that matches wins; a group matches when every
// property matches and Hash(key, id, "") <= rollout/100; the variant is the
// group's override or the one whose cumulative share holds
// Hash(key, id, "variant").
//
// A property the person does not have fails its condition (is_not_set
// passes), where a local evaluator would defer to the server: the server's
// answer is this one.
func Evaluate(f *Flag, distinctID string, props map[string]any) Result {
	if !f.Active {
		return Result{Reason: ReasonDisabled, ConditionIndex: -1}
	}
	res := Result{Reason: ReasonNoConditionMatch, ConditionIndex: -1}
	for i, g := range f.Filters.Groups {
		if !groupPropertiesMatch(g, props) {
			continue
		}
		if g.RolloutPercentage != nil && Hash(f.Key, distinctID, "") > *g.RolloutPercentage/100.0 {
			if res.Reason == ReasonNoConditionMatch {
				res = Result{Reason: ReasonOutOfRollout, ConditionIndex: i}
			}
			continue
		}
		variant := ""
		if g.Variant != nil && f.hasVariant(*g.Variant) {
			variant = *g.Variant
		} else {
			variant = f.matchingVariant(distinctID)
		}
		return Result{Enabled: true, Variant: variant, Reason: ReasonConditionMatch, ConditionIndex: i}
	}
	return res
}

func (f *Flag) hasVariant(key string) bool {
	if f.Filters.Multivariate == nil {
		return false
	}
	return slices.ContainsFunc(f.Filters.Multivariate.Variants, func(v Variant) bool { return v.Key == key })
}

// matchingVariant is the variant whose range [min, max) holds the variant
// hash; the ranges are the cumulative shares, summed in float64 in order as
// the SDKs sum them.
func (f *Flag) matchingVariant(distinctID string) string {
	if f.Filters.Multivariate == nil || len(f.Filters.Multivariate.Variants) == 0 {
		return ""
	}
	h := Hash(f.Key, distinctID, "variant")
	lo := 0.0
	for _, v := range f.Filters.Multivariate.Variants {
		hi := lo + v.RolloutPercentage/100.0
		if h >= lo && h < hi {
			return v.Key
		}
		lo = hi
	}
	return ""
}

func groupPropertiesMatch(g Group, props map[string]any) bool {
	for _, p := range g.Properties {
		if !MatchProperty(p, props) {
			return false
		}
	}
	return true
}

// MatchProperty reports whether props satisfy one condition.
func MatchProperty(p Property, props map[string]any) bool {
	op := p.Operator
	if op == "" {
		op = "exact"
	}
	actual, present := props[p.Key]
	if !present {
		return op == "is_not_set"
	}
	switch op {
	case "is_set":
		return true
	case "is_not_set":
		return false
	}
	target, err := decodeValue(p.Value)
	if err != nil {
		return false
	}
	if actual == nil && !nullAllowed(op) {
		return false
	}
	switch op {
	case "exact":
		return exactMatch(target, actual)
	case "is_not":
		return !exactMatch(target, actual)
	case "icontains":
		return strings.Contains(asciiLower(stringOf(actual)), asciiLower(stringOf(target)))
	case "not_icontains":
		return !strings.Contains(asciiLower(stringOf(actual)), asciiLower(stringOf(target)))
	case "starts_with":
		return strings.HasPrefix(asciiLower(stringOf(actual)), asciiLower(stringOf(target)))
	case "not_starts_with":
		return !strings.HasPrefix(asciiLower(stringOf(actual)), asciiLower(stringOf(target)))
	case "ends_with":
		return strings.HasSuffix(asciiLower(stringOf(actual)), asciiLower(stringOf(target)))
	case "not_ends_with":
		return !strings.HasSuffix(asciiLower(stringOf(actual)), asciiLower(stringOf(target)))
	case "regex", "not_regex":
		matched, ok := matchRegex(stringOf(target), stringOf(actual))
		if !ok {
			return false
		}
		return matched == (op == "regex")
	case "gt", "gte", "lt", "lte":
		return compare(op, actual, target)
	}
	return false
}

// Operators lists the property operators Gatehouse evaluates.
var Operators = []string{"exact", "is_not", "icontains", "not_icontains", "starts_with", "not_starts_with",
	"ends_with", "not_ends_with", "regex", "not_regex", "gt", "gte", "lt", "lte", "is_set", "is_not_set"}

// nullAllowed lists the operators that compare a null property as the text
// "null"; the others fail on null.
func nullAllowed(op string) bool {
	switch op {
	case "exact", "is_not", "icontains", "not_icontains", "starts_with", "not_starts_with",
		"ends_with", "not_ends_with", "regex", "not_regex":
		return true
	}
	return false
}

func decodeValue(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	err := d.Decode(&v)
	return v, err
}

// exactMatch is PostHog's legacy exact comparison: boolean-like filters
// compare truthiness; arrays match any item; everything else compares text
// case-insensitively.
func exactMatch(target, actual any) bool {
	if arr, ok := target.([]any); (ok && len(arr) == 0) || boolLike(target) {
		return truthy(target) == truthy(actual)
	}
	a := strings.ToLower(stringOf(actual))
	if arr, ok := target.([]any); ok {
		for _, item := range arr {
			if strings.ToLower(stringOf(item)) == a {
				return true
			}
		}
		return false
	}
	return strings.ToLower(stringOf(target)) == a
}

// boolLike is true for booleans, "true"/"false" in any case, and arrays
// made only of those.
func boolLike(v any) bool {
	switch x := v.(type) {
	case bool:
		return true
	case string:
		l := strings.ToLower(x)
		return l == "true" || l == "false"
	case []any:
		for _, item := range x {
			if !boolLike(item) {
				return false
			}
		}
		return true
	}
	return false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.ToLower(x) == "true"
	case []any:
		for _, item := range x {
			if !truthy(item) {
				return false
			}
		}
		return true
	}
	return false
}

// stringOf renders a value as the text comparisons use: strings as they
// are, numbers as sent, null as "null", composites as JSON.
func stringOf(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// asciiLower folds only ASCII letters, as PostHog's flags service does.
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// matchRegex runs the pattern; ok is false when it does not compile.
func matchRegex(pattern, value string) (matched, ok bool) {
	if pattern == "" {
		return true, true
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return false, false
	}
	return re.MatchString(value), true
}

// compare orders numerically when both sides parse as finite numbers (with
// JavaScript's parseFloat, which reads a numeric prefix) and as text
// otherwise.
func compare(op string, actual, target any) bool {
	a, aok := parseFloatPrefix(actual)
	t, tok := parseFloatPrefix(target)
	var c int
	if aok && tok {
		switch {
		case a < t:
			c = -1
		case a > t:
			c = 1
		}
	} else {
		c = strings.Compare(stringOf(actual), stringOf(target))
	}
	switch op {
	case "gt":
		return c > 0
	case "gte":
		return c >= 0
	case "lt":
		return c < 0
	}
	return c <= 0
}

var floatPrefix = regexp.MustCompile(`^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?`)

func parseFloatPrefix(v any) (float64, bool) {
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case float64:
		return x, true
	case string:
		s = strings.TrimLeft(x, " \t\n\r\v\f")
	default:
		return 0, false
	}
	m := floatPrefix.FindString(s)
	if m == "" {
		return 0, false
	}
	f, err := strconv.ParseFloat(m, 64)
	if err != nil {
		return 0, false
	}
	return f, true
}
