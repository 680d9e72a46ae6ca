package apitest

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// refEvaluate is the flag's value for one person: false, true or a variant.
// goSDK models what posthog-go v1.5.2 does differently when it evaluates
// locally: exact and is_not compare case-sensitively, and a condition set
// with properties ignores its rollout percentage.
func RefEvaluate(f RefFlag, id string, props map[string]any, goSDK bool) any {
	if !f.Active {
		return false
	}
	for _, g := range f.Groups {
		matched := true
		for _, c := range g.conditions {
			matched = matched && refMatch(c, props, goSDK)
		}
		applyRollout := g.rollout != nil && !(goSDK && len(g.conditions) > 0)
		if !matched || (applyRollout && refHash(f.Key, id, "") > *g.rollout/100) {
			continue
		}
		if len(f.Variants) == 0 {
			return true
		}
		if g.variant != "" {
			return g.variant
		}
		h, low := refHash(f.Key, id, "variant"), 0.0
		for _, v := range f.Variants {
			high := low + v.pct/100
			if h >= low && h < high {
				return v.key
			}
			low = high
		}
		return false
	}
	return false
}

// refFlags covers every kind of filter Gatehouse evaluates. sdkLocal is
// false for the ones posthog-go cannot evaluate locally (it orders only
// numbers, while PostHog stores ordering values as strings, and it leaves
// is_not_set and the starts/ends operators to the server).
var RefFlags = []struct {
	Flag     RefFlag
	SDKLocal bool
}{
	{RefFlag{Key: "everyone", Active: true, Groups: []refGroup{{rollout: pct(100)}}}, true},
	{RefFlag{Key: "half", Active: true, Groups: []refGroup{{rollout: pct(50)}}}, true},
	{RefFlag{Key: "no-rollout", Active: true, Groups: []refGroup{{}}}, true},
	{RefFlag{Key: "dark", Active: false, Groups: []refGroup{{rollout: pct(100)}}}, true},
	{RefFlag{Key: "split", Active: true, Groups: []refGroup{{rollout: pct(90)}},
		// posthog-go reads variant shares as whole numbers (uint8): a
		// fractional share makes it drop every definition.
		Variants: []refVariant{{"control", 33}, {"test", 33}, {"third", 34}}}, true},
	{RefFlag{Key: "override", Active: true, Groups: []refGroup{
		{conditions: []refCondition{{"plan", "exact", "team"}}, variant: "blue"}, {rollout: pct(60)}},
		Variants: []refVariant{{"blue", 50}, {"green", 50}}}, true},
	{RefFlag{Key: "company", Active: true, Groups: []refGroup{{conditions: []refCondition{{"email", "icontains", "@acme.test"}}, rollout: pct(70)}}}, true},
	{RefFlag{Key: "paid", Active: true, Groups: []refGroup{{conditions: []refCondition{{"plan", "exact", []string{"pro", "team"}}}}}}, true},
	{RefFlag{Key: "not-free", Active: true, Groups: []refGroup{{conditions: []refCondition{{"plan", "is_not", "free"}}}}}, true},
	{RefFlag{Key: "not-other", Active: true, Groups: []refGroup{{conditions: []refCondition{{"email", "not_icontains", "other.test"}}}}}, true},
	{RefFlag{Key: "even", Active: true, Groups: []refGroup{{conditions: []refCondition{{"email", "regex", "^p[0-9]*[02468]@"}}}}}, true},
	{RefFlag{Key: "not-p1", Active: true, Groups: []refGroup{{conditions: []refCondition{{"email", "not_regex", "^p1"}}}}}, true},
	{RefFlag{Key: "has-plan", Active: true, Groups: []refGroup{{conditions: []refCondition{{"plan", "is_set", nil}}, rollout: pct(80)}}}, true},
	{RefFlag{Key: "no-phone", Active: true, Groups: []refGroup{{conditions: []refCondition{{"phone", "is_not_set", nil}}}}}, false},
	{RefFlag{Key: "older", Active: true, Groups: []refGroup{{conditions: []refCondition{{"age", "gte", "30"}}}}}, false},
	{RefFlag{Key: "over-40", Active: true, Groups: []refGroup{{conditions: []refCondition{{"age", "gt", "40"}}}}}, false},
	{RefFlag{Key: "young", Active: true, Groups: []refGroup{{conditions: []refCondition{{"age", "lt", "25"}}}}}, false},
	{RefFlag{Key: "twenty", Active: true, Groups: []refGroup{{conditions: []refCondition{{"age", "lte", "20"}}}}}, false},
	{RefFlag{Key: "two-groups", Active: true, Groups: []refGroup{
		{conditions: []refCondition{{"plan", "exact", "free"}}, rollout: pct(20)},
		{conditions: []refCondition{{"email", "icontains", "acme"}}, rollout: pct(40)}}}, true},
}

// refPeople are the people the comparisons run over, with properties that
// exercise each filter (upper-case plans and domains included).
func RefPeople(n int) ([]string, map[string]map[string]any) {
	ids := make([]string, n)
	props := map[string]map[string]any{}
	for i := range ids {
		ids[i] = fmt.Sprintf("go-person-%d", i)
		props[ids[i]] = map[string]any{
			"email": fmt.Sprintf("p%d@%s", i, []string{"acme.test", "other.test", "ACME.test"}[i%3]),
			"plan":  []string{"free", "pro", "team", "PRO"}[i%4],
			"age":   18 + (i*7)%40,
		}
	}
	return ids, props
}

func pct(f float64) *float64 { return &f }

// refCondition is one property condition of RefFlag.
type refCondition struct {
	key, op string
	value   any // string or []string
}

// RefFlag is a flag definition in the test's own terms, rendered to
// PostHog's JSON by json().
type RefFlag struct {
	Key      string
	Active   bool
	Groups   []refGroup
	Variants []refVariant
}

func (f RefFlag) Json() string {
	var groups []string
	for _, g := range f.Groups {
		var props []string
		for _, c := range g.conditions {
			var v string
			switch x := c.value.(type) {
			case nil:
				v = "null"
			case string:
				v = strconv.Quote(x)
			case []string:
				q := make([]string, len(x))
				for i := range x {
					q[i] = strconv.Quote(x[i])
				}
				v = "[" + strings.Join(q, ",") + "]"
			}
			props = append(props, fmt.Sprintf(`{"key":%q,"operator":%q,"value":%s,"type":"person"}`, c.key, c.op, v))
		}
		rollout := "null"
		if g.rollout != nil {
			rollout = strconv.FormatFloat(*g.rollout, 'f', -1, 64)
		}
		variant := ""
		if g.variant != "" {
			variant = fmt.Sprintf(`,"variant":%q`, g.variant)
		}
		groups = append(groups, fmt.Sprintf(`{"properties":[%s],"rollout_percentage":%s%s}`, strings.Join(props, ","), rollout, variant))
	}
	multi := "null"
	if len(f.Variants) > 0 {
		var vs []string
		for _, v := range f.Variants {
			vs = append(vs, fmt.Sprintf(`{"key":%q,"rollout_percentage":%v}`, v.key, v.pct))
		}
		multi = `{"variants":[` + strings.Join(vs, ",") + `]}`
	}
	return fmt.Sprintf(`{"key":%q,"active":%v,"filters":{"groups":[%s],"multivariate":%s}}`, f.Key, f.Active, strings.Join(groups, ","), multi)
}

type refGroup struct {
	conditions []refCondition
	rollout    *float64
	variant    string
}

// refHash is PostHog's bucketing hash, written here from its description
// and not taken from Gatehouse: the first 15 hex digits of
// SHA-1("<flag key>.<distinct id><salt>") over 0xfffffffffffffff.
func refHash(key, id, salt string) float64 {
	sum := sha1.Sum([]byte(key + "." + id + salt))
	n, err := strconv.ParseUint(hex.EncodeToString(sum[:])[:15], 16, 64)
	if err != nil {
		panic(err)
	}
	return float64(n) / float64(0xfffffffffffffff)
}

// refMatch decides one condition by PostHog's server rules: text
// comparisons fold case for exact and is_not (caseSensitiveExact models
// an SDK that does not), ordering is numeric when both sides are numbers,
// a missing property fails every operator but is_not_set.
func refMatch(c refCondition, props map[string]any, caseSensitiveExact bool) bool {
	actual, ok := props[c.key]
	switch c.op {
	case "is_set":
		return ok
	case "is_not_set":
		return !ok
	}
	if !ok {
		return false
	}
	text := fmt.Sprint(actual)
	fold := func(s string) string {
		if caseSensitiveExact {
			return s
		}
		return strings.ToLower(s)
	}
	switch c.op {
	case "exact", "is_not":
		var want []string
		switch v := c.value.(type) {
		case string:
			want = []string{v}
		case []string:
			want = v
		}
		in := false
		for _, w := range want {
			in = in || fold(w) == fold(text)
		}
		return in == (c.op == "exact")
	case "icontains":
		return strings.Contains(strings.ToLower(text), strings.ToLower(c.value.(string)))
	case "not_icontains":
		return !strings.Contains(strings.ToLower(text), strings.ToLower(c.value.(string)))
	case "regex", "not_regex":
		return regexp.MustCompile(c.value.(string)).MatchString(text) == (c.op == "regex")
	case "gt", "gte", "lt", "lte":
		a, err1 := strconv.ParseFloat(text, 64)
		b, err2 := strconv.ParseFloat(c.value.(string), 64)
		if err1 != nil || err2 != nil {
			panic("non-numeric ordering in the reference data")
		}
		switch c.op {
		case "gt":
			return a > b
		case "gte":
			return a >= b
		case "lt":
			return a < b
		}
		return a <= b
	}
	panic("operator " + c.op)
}

type refVariant struct {
	key string
	pct float64
}
