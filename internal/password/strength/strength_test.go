package strength

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

const addWord = "Add another word or two. Uncommon words are better."

// TestKnownResults checks Check against results observed from the npm
// zxcvbn 4.4.2 (testdata/node/batch.js), guesses bit for bit. None of them
// depends on the current year.
func TestKnownResults(t *testing.T) {
	tests := []struct {
		password    string
		userInputs  []string
		score       int
		guesses     float64
		warning     string
		suggestions []string
	}{
		{"password", nil, 0, 3, "This is a top-10 common password", []string{addWord}},
		{"correcthorsebatterystaple", nil, 4, 273500327700640, "", []string{}},
		{"Tr0ub4dour&3", nil, 2, 19058000, "", []string{addWord, "Capitalization doesn't help very much",
			"Predictable substitutions like '@' instead of 'a' don't help very much"}},
		{"qwerty", nil, 0, 5, "This is a top-10 common password", []string{addWord}},
		{"zxcvbnm,./", nil, 1, 3889.0000000000005, "Straight rows of keys are easy to guess",
			[]string{addWord, "Use a longer keyboard pattern with more turns"}},
		{"123456", nil, 0, 2, "This is a top-10 common password", []string{addWord}},
		{"abcdefg", nil, 0, 29, "Sequences like abc or 6543 are easy to guess", []string{addWord, "Avoid sequences"}},
		{"aaaaaaa", nil, 0, 85, `Repeats like "aaa" are easy to guess`, []string{addWord, "Avoid repeated words and characters"}},
		{"abcabcabc", nil, 0, 40, `Repeats like "abcabcabc" are only slightly harder to guess than "abc"`,
			[]string{addWord, "Avoid repeated words and characters"}},
		{"P@ssw0rd", nil, 0, 17, "This is similar to a commonly used password", []string{addWord,
			"Capitalization doesn't help very much", "Predictable substitutions like '@' instead of 'a' don't help very much"}},
		{"drowssap", nil, 0, 5, "This is similar to a commonly used password", []string{addWord, "Reversed words aren't much harder to guess"}},
		{"Password1", nil, 0, 379, "This is a very common password", []string{addWord, "Capitalization doesn't help very much"}},
		{"hunter2", nil, 1, 8037, "This is a very common password", []string{addWord}},
		{"1qaz2wsx3edc", nil, 0, 1001, "This is a very common password", []string{addWord}},
		{"!QAZ2wsx", nil, 1, 346082, "This is a very common password", []string{addWord}},
		// Two words just either side of PostHog's bar.
		{"kitten-piano", nil, 3, 131617300, "", []string{}},
		{"kittenpiano", nil, 1, 968100, "This is similar to a commonly used password", []string{addWord}},
		{"correct horse", nil, 3, 152743240, "", []string{}},
		{"purple monkey dishwasher", nil, 4, 414639100000000, "", []string{}},
		{"xkcd", nil, 1, 10001, "", []string{addWord}},
		{"8cf0a2", nil, 1, 1000001, "", []string{addWord}},
		{"rWibMFACxAUGZmxhVncy", nil, 4, 1e20, "", []string{}},
		{"Qwertyuiop1!", nil, 1, 20000, "This is similar to a commonly used password", []string{addWord, "Capitalization doesn't help very much"}},
		{"D0g.....................", nil, 1, 514000, `Repeats like "aaa" are easy to guess`, []string{addWord, "Avoid repeated words and characters"}},
		// "constructor" is in english_wikipedia, and, by way of
		// Object.prototype, NaN-ranked in every other dictionary.
		{"constructor", nil, 1, 338400, "", []string{addWord}},
		{"", nil, 0, 1, "", []string{"Use a few words, avoid common phrases", "No need for symbols, digits, or uppercase letters"}},
		{"a", nil, 0, 12, "", []string{addWord}},
		// Emoji are two UTF-16 code units, as in JavaScript.
		{"🔥🔥🔥🔥", nil, 0, 405, `Repeats like "abcabcabc" are only slightly harder to guess than "abc"`,
			[]string{addWord, "Avoid repeated words and characters"}},
		// User inputs.
		{"gatehouse-rocks", nil, 3, 537379624, "", []string{}},
		{"gatehouse-rocks", []string{"Gatehouse"}, 3, 100010000, "", []string{}},
		{"Quartermaine2!", nil, 1, 662000, "", []string{addWord, "Capitalization doesn't help very much"}},
		{"Quartermaine2!", []string{"jo@example.com", "Jo", "Quartermaine"}, 1, 20000, "",
			[]string{addWord, "Capitalization doesn't help very much"}},
	}
	for _, tt := range tests {
		got := Check(tt.password, tt.userInputs...)
		want := Result{Score: tt.score, Guesses: tt.guesses, Warning: tt.warning, Suggestions: tt.suggestions}
		if got.Score != want.Score || got.Guesses != want.Guesses || got.Warning != want.Warning ||
			!slices.Equal(got.Suggestions, want.Suggestions) || got.Suggestions == nil {
			t.Errorf("Check(%q, %q) = %+v, want %+v", tt.password, tt.userInputs, got, want)
		}
	}
}

func TestDateAndYearGuessesFollowTheCurrentYear(t *testing.T) {
	year := time.Now().Year()
	yearSpace := func(y int) float64 { return float64(max(abs(y-year), minYearSpace)) }
	// A date alone: years from now (at least 20) * 365 days * 4 separators,
	// plus the 1 (10000**0) every sequence pays.
	if got, want := Check("19/08/1986").Guesses, yearSpace(1986)*365*4+1; got != want {
		t.Errorf("19/08/1986: guesses %v, want %v", got, want)
	}
	if got, want := Check("19081986").Guesses, yearSpace(1986)*365+1; got != want {
		t.Errorf("19081986: guesses %v, want %v", got, want)
	}
	r := Check("19/08/1986")
	if r.Warning != "Dates are often easy to guess" ||
		!slices.Equal(r.Suggestions, []string{addWord, "Avoid dates and years that are associated with you"}) {
		t.Errorf("19/08/1986: feedback %q %q", r.Warning, r.Suggestions)
	}
	// A recent year alone: years from now, at least 20.
	if got, want := Check("1999").Guesses, yearSpace(1999)+1; got != want {
		t.Errorf("1999: guesses %v, want %v", got, want)
	}
}

func analyzerForTest() *analyzer {
	return &analyzer{t: loadTables(), refYear: 2026}
}

func describe(ms []*match) []string {
	var out []string
	for _, m := range ms {
		s := fmt.Sprintf("%d-%d:%s", m.i, m.j, unitsString(m.token))
		switch m.pattern {
		case patDictionary:
			s += fmt.Sprintf(":%s:%v", m.dict, m.rank)
			if m.reversed {
				s += ":reversed"
			}
			if m.l33t {
				s += ":l33t"
			}
		case patSpatial:
			s += fmt.Sprintf(":%s:turns=%d:shifted=%d", m.graph.name, m.turns, m.shiftedCount)
		case patSequence:
			s += fmt.Sprintf(":asc=%v", m.ascending)
		case patDate, patRegex:
			s += fmt.Sprintf(":%d", m.year)
		case patRepeat:
			s += fmt.Sprintf(":%s*%v", unitsString(m.baseToken), m.repeatCount)
		}
		out = append(out, s)
	}
	return out
}

func TestDictionaryMatch(t *testing.T) {
	a := analyzerForTest()
	ms := describe(a.dictionaryMatch(toUnits("PassWord")))
	for _, want := range []string{"0-7:PassWord:passwords:2", "0-3:Pass:passwords:" + fmt.Sprint(lookupRank(a, "pass", dictPasswords)), "4-7:Word:us_tv_and_film:" + fmt.Sprint(lookupRank(a, "word", dictUSTVAndFilm))} {
		if !slices.Contains(ms, want) {
			t.Errorf("dictionaryMatch(PassWord) lacks %s; got %q", want, ms)
		}
	}
	rev := describe(a.reverseDictionaryMatch(toUnits("drowssap")))
	if !slices.Contains(rev, "0-7:drowssap:passwords:2:reversed") {
		t.Errorf("reverseDictionaryMatch(drowssap) = %q", rev)
	}
	// User inputs are a dictionary ranked by position, the last repeat winning.
	a.user = map[string]int{"gatehouse": 2}
	a.extraLengths = []int{9, 11}
	if ms := describe(a.dictionaryMatch(toUnits("xGateHouse"))); !slices.Contains(ms, "1-9:GateHouse:user_inputs:2") {
		t.Errorf("user input not matched: %q", ms)
	}
	// The JavaScript prototype-key quirk.
	a.user = nil
	ms = describe(a.dictionaryMatch(toUnits("__proto__")))
	nan := 0
	for _, m := range ms {
		if strings.HasPrefix(m, "0-8:__proto__:") && strings.HasSuffix(m, ":NaN") {
			nan++
		}
	}
	if nan != int(numBuiltinDicts)+1 {
		t.Errorf("dictionaryMatch(__proto__) = %q, want NaN matches in every dictionary", ms)
	}
}

func TestL33tMatch(t *testing.T) {
	subs := enumerateL33tSubs(relevantL33tSubtable(toUnits("1|7")))
	// i: 1 |; l: 1 | 7; t: 7. zxcvbn 4.4.2's enumerate_l33t_subs gives
	// these, in this order (it does not offer every combination).
	want := [][]l33tPair{
		{{'1', 'i'}, {'7', 't'}},
		{{'1', 'l'}, {'7', 't'}},
		{{'|', 'i'}, {'1', 'l'}, {'7', 't'}},
		{{'1', 'i'}, {'|', 'l'}, {'7', 't'}},
		{{'|', 'i'}, {'7', 't'}},
		{{'|', 'l'}, {'7', 't'}},
		{{'1', 'i'}, {'7', 'l'}},
		{{'|', 'i'}, {'7', 'l'}},
	}
	if !slices.EqualFunc(subs, want, slices.Equal) {
		t.Errorf("enumerateL33tSubs = %q, want %q", subs, want)
	}
	a := analyzerForTest()
	ms := describe(a.l33tMatch(toUnits("p4$$w0rd")))
	if !slices.Contains(ms, "0-7:p4$$w0rd:passwords:2:l33t") {
		t.Errorf("l33tMatch(p4$$w0rd) = %q", ms)
	}
	// l33t variations: all '$' for 's' doubles, one '4' of a...
	for _, m := range a.l33tMatch(toUnits("p4$$w0rd")) {
		if m.i == 0 && m.j == 7 && m.dict == dictPasswords {
			if got := l33tVariations(m); got != 8 { // 4->a, $->s, 0->o each fully substituted
				t.Errorf("l33tVariations(p4$$w0rd) = %v, want 8", got)
			}
		}
	}
	// Single characters and unsubstituted tokens are not l33t matches.
	for _, s := range describe(a.l33tMatch(toUnits("4 a"))) {
		t.Errorf("l33tMatch(\"4 a\") matched %s", s)
	}
}

func TestSpatialMatch(t *testing.T) {
	a := analyzerForTest()
	tests := map[string][]string{
		"qwerty":     {"0-5:qwerty:qwerty:turns=1:shifted=0"},
		"zxcvbnm,./": {"0-9:zxcvbnm,./:qwerty:turns=1:shifted=0"},
		"!QAZ2wsx":   {"0-3:!QAZ:qwerty:turns=1:shifted=4", "4-7:2wsx:qwerty:turns=1:shifted=0"},
		"aoeuidhtns": {"0-9:aoeuidhtns:dvorak:turns=1:shifted=0"},
		"7894561230": {"0-2:789:keypad:turns=1:shifted=0", "0-2:789:mac_keypad:turns=1:shifted=0", "3-5:456:keypad:turns=1:shifted=0", "3-5:456:mac_keypad:turns=1:shifted=0", "6-9:1230:keypad:turns=2:shifted=0", "6-9:1230:mac_keypad:turns=2:shifted=0"},
		"qa":         nil, // too short
	}
	for pw, want := range tests {
		var got []string
		for _, s := range describe(a.spatialMatch(toUnits(pw))) {
			if strings.Contains(s, ":qwerty:") || strings.Contains(s, ":dvorak:") || strings.Contains(s, "keypad") {
				got = append(got, s)
			}
		}
		for _, w := range want {
			if !slices.Contains(got, w) {
				t.Errorf("spatialMatch(%q) lacks %s; got %q", pw, w, got)
			}
		}
		if want == nil && got != nil {
			t.Errorf("spatialMatch(%q) = %q, want none", pw, got)
		}
	}
}

func TestRepeatMatch(t *testing.T) {
	a := analyzerForTest()
	tests := map[string][]string{
		"aaaaa":        {"0-4:aaaaa:a*5"},
		"aabaab":       {"0-5:aabaab:aab*2"},        // greedy beats lazy
		"aabaabaabaab": {"0-11:aabaabaabaab:aab*4"}, // greedy's unit itself repeats
		"xabcabcyzz":   {"1-6:abcabc:abc*2", "8-9:zz:z*2"},
		"ab\nab\n":     nil, // "." does not match line terminators
		"\n\n\n":       nil,
		"abcdef":       nil,
		"😀😀":           {"0-3:😀😀:😀*2"},
	}
	for pw, want := range tests {
		got := describe(a.repeatMatch(toUnits(pw)))
		if !slices.Equal(got, want) {
			t.Errorf("repeatMatch(%q) = %q, want %q", pw, got, want)
		}
	}
}

func TestSequenceMatch(t *testing.T) {
	// zxcvbn's own example: deltas 1 1 1 -2 -41 -2 -2 69 1.
	got := describe(sequenceMatch(toUnits("abcdb975zy")))
	want := []string{"0-3:abcd:asc=true", "5-7:975:asc=false", "8-9:zy:asc=false"}
	if !slices.Equal(got, want) {
		t.Errorf("sequenceMatch(abcdb975zy) = %q, want %q", got, want)
	}
	if got := sequenceMatch(toUnits("a")); got != nil {
		t.Errorf("sequenceMatch(a) = %v", got)
	}
	if got := describe(sequenceMatch(toUnits("aceg"))); !slices.Equal(got, []string{"0-3:aceg:asc=true"}) {
		t.Errorf("sequenceMatch(aceg) = %q", got)
	}
}

func TestRegexMatch(t *testing.T) {
	got := describe(regexMatch(toUnits("x1999y2015z2020w19999")))
	want := []string{"1-4:1999:1999", "6-9:2015:2015", "16-19:1999:1999"}
	if !slices.Equal(got, want) {
		t.Errorf("regexMatch = %q, want %q", got, want)
	}
}

func TestDateMatch(t *testing.T) {
	a := analyzerForTest()
	tests := map[string][]string{
		"13/12/1987": {"0-9:13/12/1987:1987"},
		"1987-12-13": {"0-9:1987-12-13:1987"},
		"111504":     {"0-5:111504:2004"}, // 11-15-04 is closer to the reference year than 1-1-1504
		"2015_06_04": {"0-9:2015_06_04:2015"},
		"1.1.91":     {"0-5:1.1.91:1991"},
		"1 1 91":     {"0-5:1 1 91:1991"},
		"13/12-1987": {"6-9:1987:2007"}, // separators differ; 1987 is 19/8/2007
		"32/13/1987": {"0-6:32/13/1:2032", "1-9:2/13/1987:1987"},
		"00000000":   nil,
		"1991":       {"0-3:1991:2001"}, // 19/9/2001 is closer to 2026 than 1/9/1991
	}
	for pw, want := range tests {
		got := describe(a.dateMatch(toUnits(pw)))
		if !slices.Equal(got, want) {
			t.Errorf("dateMatch(%q) = %q, want %q", pw, got, want)
		}
	}
	if _, ok := mapIntsToDMY(1, 0, 1); ok {
		t.Error("mapIntsToDMY(1, 0, 1) should fail: middle zero")
	}
	if d, ok := mapIntsToDMY(2050, 12, 31); !ok || d != (dmy{31, 12, 2050}) {
		t.Errorf("mapIntsToDMY(2050, 12, 31) = %v, %v", d, ok)
	}
	if _, ok := mapIntsToDMY(2051, 12, 31); ok {
		t.Error("mapIntsToDMY(2051, 12, 31) should fail: year too late")
	}
}

func TestGuessesToScore(t *testing.T) {
	for _, tt := range []struct {
		guesses float64
		score   int
	}{{1, 0}, {1004.9, 0}, {1005, 1}, {1e6 + 4, 1}, {1e6 + 5, 2}, {1e8 + 4, 2}, {1e8 + 5, 3}, {1e10 + 5, 4}, {math.Inf(1), 4}} {
		if got := guessesToScore(tt.guesses); got != tt.score {
			t.Errorf("guessesToScore(%v) = %d, want %d", tt.guesses, got, tt.score)
		}
	}
}

func TestPowTablesAreV8s(t *testing.T) {
	tb := loadTables()
	// V8's Math.pow is fdlibm's, which rounds 10**26 down; Go's is exact here.
	if got := jsPow(tb.pow10, 10, 26); got != 9.999999999999999e+25 {
		t.Errorf("jsPow(10, 26) = %v", got)
	}
	if jsPow(tb.pow10, 10, 8) != 1e8 || jsPow(tb.pow10000, 1e4, 2) != 1e8 {
		t.Error("small powers are not exact")
	}
	if tb.keyboardStartingPositions != 94 || tb.keypadStartingPositions != 15 {
		t.Errorf("starting positions %v, %v", tb.keyboardStartingPositions, tb.keypadStartingPositions)
	}
}

func TestLongPasswordsAreTruncated(t *testing.T) {
	long := strings.Repeat("correcthorse", 20)
	if got, want := Check(long), Check(long[:MaxAnalyzedLength]); got.Guesses != want.Guesses || got.Score != 4 {
		t.Errorf("Check(240 chars) = %+v, want the result for its first %d characters, %+v", got, MaxAnalyzedLength, want)
	}
	// A surrogate pair straddling the cut is dropped whole.
	emoji := strings.Repeat("x", MaxAnalyzedLength-1) + "🔥"
	if got, want := Check(emoji), Check(emoji[:MaxAnalyzedLength-1]); got.Guesses != want.Guesses {
		t.Errorf("pair at the cut: %+v, want %+v", got, want)
	}
	// The work is bounded by the cut, not by the input: a 13,000-character
	// password is scored exactly as its first MaxAnalyzedLength characters
	// (BenchmarkCheck measures the cost).
	huge := strings.Repeat("p4$$w0rd|1!7+", 1000)
	if got, want := Check(huge), Check(huge[:MaxAnalyzedLength]); got.Guesses != want.Guesses || got.Score != want.Score {
		t.Errorf("13,000 characters: %+v, want the result for the first %d, %+v", got, MaxAnalyzedLength, want)
	}
}

var benchPasswords = []string{
	"password", "Tr0ub4dour&3", "correcthorsebatterystaple", "kitten-piano", "19/08/1986",
	"qwertyuiop", "P@ssw0rd2024!", "rWibMFACxAUGZmxhVncy", "alice.smith@example.com", "j4ck$0n5!1|7",
	"Qu4rtermaine-Gatehouse-1987", "aaaaaaaaaaaa", "purple monkey dishwasher",
}

func BenchmarkCheck(b *testing.B) {
	loadTables()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Check(benchPasswords[i%len(benchPasswords)], "alice.smith@example.com", "Alice", "Smith")
	}
}

func BenchmarkCheckLong(b *testing.B) {
	pw := strings.Repeat("Tr0ub4dour&3", 20) // truncated to MaxAnalyzedLength
	loadTables()
	b.ReportAllocs()
	for b.Loop() {
		Check(pw)
	}
}

func lookupRank(a *analyzer, w string, d dictID) int32 {
	rs, _ := a.t.words.lookup(w)
	return rs[d]
}
