package featureflag

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
)

// MaxKeyLength bounds a flag key, as PostHog's model does.
const MaxKeyLength = 400

// ValidationError says what is wrong with a definition: Attr is the field
// ("key", "filters"), Code PostHog's error code, Detail the message.
type ValidationError struct {
	Attr   string
	Code   string
	Detail string
}

func (e *ValidationError) Error() string { return e.Attr + ": " + e.Detail }

var keyPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// ValidateKey checks a flag key: letters, digits, "-" and "_", at most
// MaxKeyLength characters.
func ValidateKey(key string) error {
	if key == "" {
		return &ValidationError{Attr: "key", Code: "blank", Detail: "This field may not be blank."}
	}
	if len(key) > MaxKeyLength {
		return &ValidationError{Attr: "key", Code: "max_length", Detail: fmt.Sprintf("Ensure this field has no more than %d characters.", MaxKeyLength)}
	}
	if !keyPattern.MatchString(key) {
		return &ValidationError{Attr: "key", Code: "invalid_key", Detail: `Only letters, numbers, hyphens ("-") & underscores ("_") are allowed.`}
	}
	return nil
}

func filtersError(format string, args ...any) error {
	return &ValidationError{Attr: "filters", Code: "invalid_input", Detail: fmt.Sprintf(format, args...)}
}

// validPercentage accepts finite numbers from 0 to 100.
func validPercentage(p float64) bool { return !math.IsNaN(p) && p >= 0 && p <= 100 }

// ValidateFilters checks a flag's filters: rollout percentages within
// 0–100, known operators on person properties, variants with distinct keys
// whose shares sum to 100, group variant overrides and payload keys that
// name a variant (or "true"). It also normalises payload values to their
// JSON text.
func ValidateFilters(f *Filters) error {
	if f.AggregationGroupTypeIndex != nil {
		return filtersError("Group-based flags are not supported: aggregation_group_type_index must be null.")
	}
	var variants []string
	if f.Multivariate != nil {
		sum := 0.0
		for i, v := range f.Multivariate.Variants {
			if err := ValidateKey(v.Key); err != nil {
				return filtersError("Invalid variant definitions: variant %d has an invalid key.", i+1)
			}
			if slices.Contains(variants, v.Key) {
				return filtersError("Invalid variant definitions: variant keys must be unique (%q repeats).", v.Key)
			}
			if !validPercentage(v.RolloutPercentage) {
				return filtersError("Invalid variant definitions: rollout percentages must be between 0 and 100.")
			}
			variants = append(variants, v.Key)
			sum += v.RolloutPercentage
		}
		if len(variants) > 0 && math.Abs(sum-100) > 1e-9 {
			return filtersError("Invalid variant definitions: Variant rollout percentages must sum to 100.")
		}
	}
	for i, g := range f.Groups {
		if g.RolloutPercentage != nil && !validPercentage(*g.RolloutPercentage) {
			return filtersError("Condition set %d: rollout_percentage must be between 0 and 100.", i+1)
		}
		if g.Variant != nil && *g.Variant != "" && !slices.Contains(variants, *g.Variant) {
			return filtersError("Condition set %d: variant override %q is not one of the flag's variants.", i+1, *g.Variant)
		}
		for _, p := range g.Properties {
			if err := validateProperty(i, p); err != nil {
				return err
			}
		}
	}
	for k, v := range f.Payloads {
		if k != "true" && !slices.Contains(variants, k) {
			return filtersError("Payload key %q must be \"true\" or one of the flag's variants.", k)
		}
		if v == "" {
			delete(f.Payloads, k)
		}
	}
	return nil
}

// stringValued reports whether op takes only a string value, as PostHog
// requires of the pattern, substring and ordering operators (a number for
// gt is written "30").
func stringValued(op string) bool {
	switch op {
	case "regex", "not_regex", "icontains", "not_icontains", "gt", "gte", "lt", "lte":
		return true
	}
	return false
}

func validateProperty(group int, p Property) error {
	if strings.TrimSpace(p.Key) == "" {
		return filtersError("Condition set %d: every property needs a key.", group+1)
	}
	switch p.Type {
	case "", "person":
	default:
		return filtersError("Condition set %d: property type %q is not supported (only person properties).", group+1, p.Type)
	}
	op := p.Operator
	if op == "" {
		op = "exact"
	}
	if !slices.Contains(Operators, op) {
		return filtersError("Condition set %d: operator %q is not supported.", group+1, p.Operator)
	}
	if op == "is_set" || op == "is_not_set" {
		return nil
	}
	v, err := decodeValue(p.Value)
	if err != nil {
		return filtersError("Condition set %d: the value of %q is not valid JSON.", group+1, p.Key)
	}
	if _, isObject := v.(map[string]any); isObject {
		return filtersError("Condition set %d: the value of %q must be a scalar or a list.", group+1, p.Key)
	}
	if stringValued(op) {
		if _, ok := v.(string); !ok {
			return &ValidationError{Attr: "filters", Code: "invalid_value", Detail: fmt.Sprintf("Invalid value for operator %s: %s", op, strings.TrimSpace(string(p.Value)))}
		}
	}
	if op == "regex" || op == "not_regex" {
		if _, ok := matchRegex(stringOf(v), ""); !ok {
			return filtersError("Condition set %d: the regular expression for %q does not compile.", group+1, p.Key)
		}
	}
	return nil
}

// UnmarshalJSON accepts payload values that are JSON strings (PostHog's
// stored form) or any other JSON value, which is kept as its JSON text.
func (f *Filters) UnmarshalJSON(b []byte) error {
	type plain Filters
	var raw struct {
		plain
		Payloads map[string]json.RawMessage `json:"payloads"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*f = Filters(raw.plain)
	f.Payloads = nil
	for k, v := range raw.Payloads {
		if f.Payloads == nil {
			f.Payloads = map[string]string{}
		}
		var s string
		if err := json.Unmarshal(v, &s); err == nil {
			f.Payloads[k] = s
			continue
		}
		if string(v) == "null" {
			continue
		}
		f.Payloads[k] = string(v)
	}
	return nil
}

// MarshalJSON writes the filters with empty collections rather than null,
// as PostHog does.
func (f Filters) MarshalJSON() ([]byte, error) {
	type plain Filters
	p := plain(f)
	if p.Groups == nil {
		p.Groups = []Group{}
	}
	if p.Payloads == nil {
		p.Payloads = map[string]string{}
	}
	for i := range p.Groups {
		if p.Groups[i].Properties == nil {
			p.Groups = slices.Clone(p.Groups)
			for j := range p.Groups {
				if p.Groups[j].Properties == nil {
					p.Groups[j].Properties = []Property{}
				}
			}
			break
		}
	}
	return json.Marshal(p)
}
