package strength

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// pattern is the kind of a match, as zxcvbn's match.pattern.
type pattern uint8

const (
	patBruteforce pattern = iota
	patDictionary
	patSpatial
	patRepeat
	patSequence
	patRegex
	patDate
)

// l33tPair is one substitution: the l33t character stands for letter.
type l33tPair struct{ l33t, letter rune }

// match is a candidate pattern covering password[i..j] (inclusive, in
// UTF-16 code units), with the fields its kind needs. token is always the slice of
// the analysed password that the match covers.
type match struct {
	pattern pattern
	i, j    int
	token   []rune

	// dictionary
	dict        dictID
	matchedWord string
	rank        float64 // NaN for zxcvbn's prototype-key quirk, see isPrototypeKey
	reversed    bool
	l33t        bool
	sub         []l33tPair // the substitutions used in token

	// spatial
	graph        *adjacencyGraph
	turns        int
	shiftedCount int

	// repeat
	baseToken   []rune
	baseGuesses float64
	repeatCount float64

	// sequence
	ascending bool

	// regex (recent_year is zxcvbn's only regex) and date
	year         int
	hasSeparator bool

	// estimateGuesses caches its result here, as zxcvbn does.
	guesses      float64
	guessesLog10 float64
	guessesKnown bool
}

// analyzer runs zxcvbn's matchers and scoring for one Check call.
type analyzer struct {
	t *tables
	// user is the user_inputs dictionary: lower-cased input to rank.
	user map[string]int
	// extraLengths are the lengths, in code units and ascending, of the
	// strings that can match without being built-in words: the user inputs
	// and the prototype keys.
	extraLengths []int
	// refYear is zxcvbn's REFERENCE_YEAR: the current year.
	refYear int
}

// omnimatch runs every matcher and sorts the matches by (i, j). The sort is
// stable, so matches over the same span keep the matcher order; zxcvbn's
// sequence search keeps the first of equally good matches, which decides
// the feedback.
func (a *analyzer) omnimatch(pw []rune) []*match {
	var ms []*match
	ms = append(ms, a.dictionaryMatch(pw)...)
	ms = append(ms, a.reverseDictionaryMatch(pw)...)
	ms = append(ms, a.l33tMatch(pw)...)
	ms = append(ms, a.spatialMatch(pw)...)
	ms = append(ms, a.repeatMatch(pw)...)
	ms = append(ms, sequenceMatch(pw)...)
	ms = append(ms, regexMatch(pw)...)
	ms = append(ms, a.dateMatch(pw)...)
	sortMatches(ms)
	return ms
}

func sortMatches(ms []*match) {
	slices.SortStableFunc(ms, func(x, y *match) int {
		return cmp.Or(cmp.Compare(x.i, y.i), cmp.Compare(x.j, y.j))
	})
}

// ---------------------------------------------------------------------------
// Dictionary matching.

// Passwords are analysed as JavaScript sees strings: as UTF-16 code units,
// each held in a rune. Characters outside the Basic Multilingual Plane
// (emoji) are two units, a surrogate pair, as in zxcvbn; the matchers and
// the guess estimates count and compare units exactly as zxcvbn does.

// toUnits converts s to UTF-16 code units.
func toUnits(s string) []rune {
	units := make([]rune, 0, len(s))
	for _, r := range s {
		if r1, r2 := utf16.EncodeRune(r); r1 != unicode.ReplacementChar {
			units = append(units, r1, r2)
		} else {
			units = append(units, r)
		}
	}
	return units
}

func isPairAt(u []rune, k int) bool {
	return k+1 < len(u) && utf16.IsSurrogate(u[k]) && u[k] < 0xdc00 && u[k+1] >= 0xdc00 && u[k+1] <= 0xdfff
}

// lowered is a lower-cased sequence of code units as a string, with the
// byte offset of each unit plus one for the end, so that substrings cost
// no allocation.
type lowered struct {
	s    string
	offs []int
	// midPair[k] is true when units k-1 and k are a surrogate pair: a
	// substring starting or ending between them is not a valid string, and
	// never a dictionary word.
	midPair []bool
}

func (l *lowered) sub(i, j int) (string, bool) {
	if l.midPair[i] || l.midPair[j+1] {
		return "", false
	}
	return l.s[l.offs[i]:l.offs[j+1]], true
}

// lowerUnits lower-cases u code point by code point (so indexes stay
// aligned; JavaScript's special cases that change the length, İ, and final
// sigma are not reproduced). A lone surrogate is written as its 3-byte
// (invalid UTF-8) encoding, which no lower-cased Go string contains, so it
// matches nothing, as in JavaScript.
func lowerUnits(u []rune) lowered {
	b := make([]byte, 0, len(u))
	l := lowered{offs: make([]int, len(u)+1), midPair: make([]bool, len(u)+1)}
	for k := 0; k < len(u); k++ {
		l.offs[k] = len(b)
		switch {
		case isPairAt(u, k):
			b = utf8.AppendRune(b, unicode.ToLower(utf16.DecodeRune(u[k], u[k+1])))
			k++
			l.offs[k] = len(b)
			l.midPair[k] = true
		case utf16.IsSurrogate(u[k]):
			b = append(b, 0xed, byte(0x80|(u[k]>>6)&0x3f), byte(0x80|u[k]&0x3f))
		default:
			b = utf8.AppendRune(b, unicode.ToLower(u[k]))
		}
	}
	l.offs[len(u)] = len(b)
	l.s = string(b)
	return l
}

// lowerString is the lower-cased string of u.
func lowerString(u []rune) string { return lowerUnits(u).s }

// unitsString is the string of u, lone surrogates encoded as in
// lowerUnits.
func unitsString(u []rune) string {
	b := make([]byte, 0, len(u))
	for k := 0; k < len(u); k++ {
		switch {
		case isPairAt(u, k):
			b = utf8.AppendRune(b, utf16.DecodeRune(u[k], u[k+1]))
			k++
		case utf16.IsSurrogate(u[k]):
			b = append(b, 0xed, byte(0x80|(u[k]>>6)&0x3f), byte(0x80|u[k]&0x3f))
		default:
			b = utf8.AppendRune(b, u[k])
		}
	}
	return string(b)
}

// isPrototypeKey reports whether zxcvbn, whose dictionaries are plain
// JavaScript objects tested with `word of dict`, finds w in every
// dictionary by way of Object.prototype. Of the prototype's properties only
// these two are all lower-case, so only they can be password substrings
// after lower-casing. The "rank" found is then a function or an object,
// which turns the match's guesses into NaN.
func isPrototypeKey(w string) bool {
	return w == "constructor" || w == "__proto__"
}

// prototypeKeyLengths are the lengths of the prototype keys.
var prototypeKeyLengths = []int{len("__proto__"), len("constructor")}

// dictionaryMatch finds every substring of pw that is a word of a ranked
// dictionary, case-insensitively. Matches over the same span come in
// zxcvbn's dictionary order (the built-in ones, then user_inputs).
func (a *analyzer) dictionaryMatch(pw []rune) []*match {
	return a.dictionaryMatchWhere(pw, nil)
}

// dictionaryMatchWhere is dictionaryMatch limited to the spans keep
// accepts (all if keep is nil).
func (a *analyzer) dictionaryMatchWhere(pw []rune, keep func(i, j int) bool) []*match {
	var ms []*match
	n := len(pw)
	lower := lowerUnits(pw)
	words := a.t.words
	for i := range n {
		if lower.midPair[i] {
			continue
		}
		// Extend the substring while it is a prefix of a built-in word.
		j := i
		for node := int32(0); j < n; j++ {
			if node = words.walk(node, lower.s[lower.offs[j]:lower.offs[j+1]]); node < 0 {
				break
			}
			var rs rankSet
			if r := words.nodes[node].rank; r >= 0 {
				rs = words.ranks[r]
			}
			if keep == nil || keep(i, j) {
				ms = a.appendDictionaryMatches(ms, pw, &lower, i, j, rs)
			}
		}
		// Past that, only user inputs and prototype keys can match.
		for _, l := range a.extraLengths {
			if k := i + l - 1; k >= j && k < n && (keep == nil || keep(i, k)) {
				ms = a.appendDictionaryMatches(ms, pw, &lower, i, k, rankSet{})
			}
		}
	}
	return ms
}

// appendDictionaryMatches adds the matches of pw[i..j], whose built-in
// ranks are rs, in dictionary order.
func (a *analyzer) appendDictionaryMatches(ms []*match, pw []rune, lower *lowered, i, j int, rs rankSet) []*match {
	w, ok := lower.sub(i, j)
	if !ok {
		return ms
	}
	proto := isPrototypeKey(w)
	for d := range numBuiltinDicts {
		rank := float64(rs[d])
		if rs[d] == 0 {
			if !proto {
				continue
			}
			rank = math.NaN()
		}
		ms = append(ms, newDictionaryMatch(pw, i, j, d, w, rank))
	}
	if a.user != nil || proto {
		rank := float64(a.user[w])
		// An own "constructor" key has its real rank; "__proto__" can
		// never be an own key of a JavaScript object literal.
		if rank == 0 || w == "__proto__" {
			if !proto {
				return ms
			}
			rank = math.NaN()
		}
		ms = append(ms, newDictionaryMatch(pw, i, j, dictUserInputs, w, rank))
	}
	return ms
}

func newDictionaryMatch(pw []rune, i, j int, d dictID, word string, rank float64) *match {
	return &match{
		pattern:     patDictionary,
		i:           i,
		j:           j,
		token:       pw[i : j+1],
		dict:        d,
		matchedWord: word,
		rank:        rank,
	}
}

// reverseDictionaryMatch finds dictionary words spelt backwards.
func (a *analyzer) reverseDictionaryMatch(pw []rune) []*match {
	n := len(pw)
	rev := slices.Clone(pw)
	slices.Reverse(rev)
	ms := a.dictionaryMatch(rev)
	for _, m := range ms {
		m.i, m.j = n-1-m.j, n-1-m.i
		m.token = pw[m.i : m.j+1]
		m.reversed = true
	}
	sortMatches(ms)
	return ms
}

// ---------------------------------------------------------------------------
// L33t matching.

// l33tTable is zxcvbn's L33T_TABLE, in its order.
var l33tTable = []struct {
	letter rune
	subs   []rune
}{
	{'a', []rune{'4', '@'}},
	{'b', []rune{'8'}},
	{'c', []rune{'(', '{', '[', '<'}},
	{'e', []rune{'3'}},
	{'g', []rune{'6', '9'}},
	{'i', []rune{'1', '!', '|'}},
	{'l', []rune{'1', '|', '7'}},
	{'o', []rune{'0'}},
	{'s', []rune{'$', '5'}},
	{'t', []rune{'+', '7'}},
	{'x', []rune{'%'}},
	{'z', []rune{'2'}},
}

// l33tSubtableEntry is a letter with the l33t characters for it that occur
// in the password.
type l33tSubtableEntry struct {
	letter rune
	subs   []rune
}

// relevantL33tSubtable prunes l33tTable to the substitutions pw could use.
func relevantL33tSubtable(pw []rune) []l33tSubtableEntry {
	var out []l33tSubtableEntry
	for _, e := range l33tTable {
		var subs []rune
		for _, s := range e.subs {
			if slices.Contains(pw, s) {
				subs = append(subs, s)
			}
		}
		if len(subs) > 0 {
			out = append(out, l33tSubtableEntry{e.letter, subs})
		}
	}
	return out
}

// enumerateL33tSubs lists the ways to read the l33t characters: each
// result maps every l33t character at most once. It follows zxcvbn's
// enumeration, whose order decides ties between matches: letter by letter,
// each l33t character either extends a partial substitution or, when the
// character is already taken, both keeps it and offers the alternative
// where it stands for this letter instead. Exact duplicates are dropped
// (zxcvbn's dedup label encodes the ordered pair list).
func enumerateL33tSubs(table []l33tSubtableEntry) [][]l33tPair {
	subs := [][]l33tPair{{}}
	for _, e := range table {
		var next [][]l33tPair
		for _, c := range e.subs {
			for _, sub := range subs {
				dup := slices.IndexFunc(sub, func(p l33tPair) bool { return p.l33t == c })
				if dup == -1 {
					next = append(next, append(slices.Clone(sub), l33tPair{c, e.letter}))
					continue
				}
				alt := slices.Delete(slices.Clone(sub), dup, dup+1)
				alt = append(alt, l33tPair{c, e.letter})
				next = append(next, sub, alt)
			}
		}
		subs = subs[:0:0]
		seen := make(map[string]bool, len(next))
		for _, sub := range next {
			var key strings.Builder
			for _, p := range sub {
				key.WriteRune(p.l33t)
				key.WriteRune(p.letter)
			}
			if !seen[key.String()] {
				seen[key.String()] = true
				subs = append(subs, sub)
			}
		}
	}
	return subs
}

// l33tMatch finds dictionary words written with l33t substitutions.
func (a *analyzer) l33tMatch(pw []rune) []*match {
	var ms []*match
	translated := make([]rune, len(pw))
	// changed[k] counts the substituted characters before k.
	changed := make([]int, len(pw)+1)
	// zxcvbn drops single-character l33t matches as noise ('1' as "i"), and
	// matches with no substituted character (they are plain dictionary
	// matches: a substituted character is never a letter, so the token
	// lower-cased differs from the word exactly when one is in it).
	keep := func(i, j int) bool { return j > i && changed[j+1] > changed[i] }
	for _, sub := range enumerateL33tSubs(relevantL33tSubtable(pw)) {
		if len(sub) == 0 {
			break // no relevant substitutions
		}
		for k, r := range pw {
			translated[k] = r
			for _, p := range sub {
				if p.l33t == r {
					translated[k] = p.letter
					break
				}
			}
			changed[k+1] = changed[k]
			if translated[k] != r {
				changed[k+1]++
			}
		}
		for _, m := range a.dictionaryMatchWhere(translated, keep) {
			token := pw[m.i : m.j+1]
			m.token = token
			m.l33t = true
			for _, p := range sub {
				if slices.Contains(token, p.l33t) {
					m.sub = append(m.sub, p)
				}
			}
			ms = append(ms, m)
		}
	}
	sortMatches(ms)
	return ms
}

// ---------------------------------------------------------------------------
// Spatial matching.

// isShifted is zxcvbn's SHIFTED_RX: characters typed with shift on a
// US keyboard.
func isShifted(r rune) bool {
	return strings.ContainsRune(`~!@#$%^&*()_+QWERTYUIOP{}|ASDFGHJKL:"ZXCVBNM<>?`, r)
}

func (a *analyzer) spatialMatch(pw []rune) []*match {
	var ms []*match
	for _, g := range a.t.graphs {
		ms = append(ms, spatialMatchGraph(pw, g)...)
	}
	sortMatches(ms)
	return ms
}

// spatialMatchGraph finds chains of at least three keys, each adjacent to
// the previous one on g, counting direction changes (turns) and shifted
// keys.
func spatialMatchGraph(pw []rune, g *adjacencyGraph) []*match {
	var ms []*match
	n := len(pw)
	for i := 0; i < n-1; {
		j := i + 1
		lastDirection := -1
		turns := 0
		shifted := 0
		if g.keyboard && isShifted(pw[i]) {
			shifted = 1
		}
		for {
			found := false
			if j < n {
				cur := pw[j]
				for dir, adj := range g.neighbors(pw[j-1]) {
					pos := -1
					if adj[0] == cur {
						pos = 0
					} else if adj[1] == cur {
						pos = 1
					}
					if pos == -1 {
						continue
					}
					found = true
					if pos == 1 { // the shifted character of the key
						shifted++
					}
					if lastDirection != dir {
						turns++ // every chain starts with a turn
						lastDirection = dir
					}
					break
				}
			}
			if found {
				j++
				continue
			}
			if j-i > 2 {
				ms = append(ms, &match{
					pattern:      patSpatial,
					i:            i,
					j:            j - 1,
					token:        pw[i:j],
					graph:        g,
					turns:        turns,
					shiftedCount: shifted,
				})
			}
			i = j
			break
		}
	}
	return ms
}

// ---------------------------------------------------------------------------
// Repeat matching.

// isLineTerminator reports the characters JavaScript's "." does not match.
func isLineTerminator(r rune) bool {
	return r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029'
}

// repeatsAt reports how many times pw[p:p+l] repeats back to back from p
// (1 if only once).
func repeatsAt(pw []rune, p, l int) int {
	count := 1
	for q := p + l; q+l <= len(pw) && slices.Equal(pw[q:q+l], pw[p:p+l]); q += l {
		count++
	}
	return count
}

// findRepeat finds, from position from on, what zxcvbn's regexes
// /(.+)\1+/g (greedy) and /(.+?)\1+/g (lazy) find: the leftmost position
// where some string repeats, with the longest (greedy) and shortest (lazy)
// repeated unit there, each repeated as often as it goes. ok is false if
// nothing repeats.
func findRepeat(pw []rune, from int) (start, greedyUnit, greedyCount, lazyUnit, lazyCount int, ok bool) {
	n := len(pw)
	for p := from; p < n; p++ {
		// "." stops at line terminators, so the unit cannot contain one.
		maxUnit := (n - p) / 2
		if k := slices.IndexFunc(pw[p:], isLineTerminator); k >= 0 {
			maxUnit = min(maxUnit, k)
		}
		for l := 1; l <= maxUnit; l++ {
			if c := repeatsAt(pw, p, l); c > 1 {
				lazyUnit, lazyCount = l, c
				break
			}
		}
		if lazyUnit == 0 {
			continue
		}
		for l := maxUnit; l >= 1; l-- {
			if c := repeatsAt(pw, p, l); c > 1 {
				greedyUnit, greedyCount = l, c
				break
			}
		}
		return p, greedyUnit, greedyCount, lazyUnit, lazyCount, true
	}
	return 0, 0, 0, 0, 0, false
}

// smallestPeriod is zxcvbn's /^(.+?)\1+$/ on a string known to be a
// repetition: the shortest unit it is a whole repetition of.
func smallestPeriod(s []rune) int {
	for l := 1; l <= len(s)/2; l++ {
		if len(s)%l == 0 && repeatsAt(s, 0, l)*l == len(s) {
			return l
		}
	}
	return len(s)
}

// repeatMatch finds repeated strings ("aaa", "abcabc"), scoring each
// repeated unit recursively.
func (a *analyzer) repeatMatch(pw []rune) []*match {
	var ms []*match
	for last := 0; last < len(pw); {
		p, gu, gc, lu, lc, ok := findRepeat(pw, last)
		if !ok {
			break
		}
		var token, base []rune
		if gu*gc > lu*lc {
			// Greedy wins for "aabaab"; its unit may itself repeat.
			token = pw[p : p+gu*gc]
			base = token[:smallestPeriod(token)]
		} else {
			// Lazy wins for "aaaaa".
			token = pw[p : p+lu*lc]
			base = token[:lu]
		}
		_, baseGuesses := a.mostGuessableMatchSequence(base, a.omnimatch(base))
		ms = append(ms, &match{
			pattern:     patRepeat,
			i:           p,
			j:           p + len(token) - 1,
			token:       token,
			baseToken:   base,
			baseGuesses: baseGuesses,
			repeatCount: float64(len(token)) / float64(len(base)),
		})
		last = p + len(token)
	}
	return ms
}

// ---------------------------------------------------------------------------
// Sequence matching.

const maxSequenceDelta = 5

// sequenceMatch finds runs of characters with a constant code point step of
// at most 5 ("abcd", "9753"), of length 3 or more, or 2 for step ±1.
func sequenceMatch(pw []rune) []*match {
	var ms []*match
	n := len(pw)
	if n == 1 {
		return nil
	}
	add := func(i, j, delta int) {
		if j-i > 1 || delta == 1 || delta == -1 {
			if d := max(delta, -delta); d > 0 && d <= maxSequenceDelta {
				ms = append(ms, &match{
					pattern:   patSequence,
					i:         i,
					j:         j,
					token:     pw[i : j+1],
					ascending: delta > 0,
				})
			}
		}
	}
	i := 0
	lastDelta, haveLast := 0, false
	for k := 1; k < n; k++ {
		delta := int(pw[k]) - int(pw[k-1])
		if !haveLast {
			lastDelta, haveLast = delta, true
		}
		if delta == lastDelta {
			continue
		}
		j := k - 1
		add(i, j, lastDelta)
		i = j
		lastDelta = delta
	}
	if n > 1 {
		add(i, n-1, lastDelta)
	}
	return ms
}

// ---------------------------------------------------------------------------
// Regex matching: zxcvbn's only regex is recent_year, /19\d\d|200\d|201\d/g.

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func regexMatch(pw []rune) []*match {
	var ms []*match
	for p := 0; p+4 <= len(pw); {
		t := pw[p : p+4]
		if isDigit(t[2]) && isDigit(t[3]) &&
			(t[0] == '1' && t[1] == '9' || t[0] == '2' && t[1] == '0' && (t[2] == '0' || t[2] == '1')) {
			ms = append(ms, &match{
				pattern: patRegex,
				i:       p,
				j:       p + 3,
				token:   t,
				year:    atoi(t),
			})
			p += 4
			continue
		}
		p++
	}
	return ms
}

// atoi parses ASCII digits.
func atoi(ds []rune) int {
	v := 0
	for _, d := range ds {
		v = v*10 + int(d-'0')
	}
	return v
}

// ---------------------------------------------------------------------------
// Date matching.

const (
	dateMinYear = 1000
	dateMaxYear = 2050
)

// dateSplits are zxcvbn's DATE_SPLITS: for a digit string of each length,
// the ways to cut it into three numbers.
var dateSplits = map[int][][2]int{
	4: {{1, 2}, {2, 3}},
	5: {{1, 3}, {2, 3}},
	6: {{1, 2}, {2, 4}, {4, 5}},
	7: {{1, 3}, {2, 3}, {4, 5}, {4, 6}},
	8: {{2, 4}, {4, 6}},
}

// isJSSpace is JavaScript's \s.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', '\u00a0', '\u1680', '\u2028', '\u2029',
		'\u202f', '\u205f', '\u3000', '\ufeff':
		return true
	}
	return r >= '\u2000' && r <= '\u200a'
}

func isDateSeparator(r rune) bool {
	return isJSSpace(r) || strings.ContainsRune(`/\_.-`, r)
}

type dmy struct{ day, month, year int }

// dateMatch finds dates: three numbers (day, month and a 2- or 4-digit
// year first or last), written with no separator (4-8 digits) or with the
// same separator twice, and drops dates inside longer dates.
func (a *analyzer) dateMatch(pw []rune) []*match {
	var ms []*match
	n := len(pw)
	// Without separator: 4 to 8 digits.
	for i := 0; i+4 <= n; i++ {
		for j := i + 3; j <= i+7 && j < n; j++ {
			token := pw[i : j+1]
			if !allDigits(token) {
				continue
			}
			var best dmy
			bestDistance, found := 0, false
			for _, s := range dateSplits[len(token)] {
				d, ok := mapIntsToDMY(atoi(token[:s[0]]), atoi(token[s[0]:s[1]]), atoi(token[s[1]:]))
				if !ok {
					continue
				}
				// Prefer the reading with the year closest to the
				// reference year; the first such wins.
				if dist := abs(d.year - a.refYear); !found || dist < bestDistance {
					best, bestDistance, found = d, dist, true
				}
			}
			if found {
				ms = append(ms, &match{pattern: patDate, i: i, j: j, token: token, year: best.year})
			}
		}
	}
	// With separator: d{1,4} sep d{1,2} sep d{1,4}, 6 to 10 characters.
	for i := 0; i+6 <= n; i++ {
		for j := i + 5; j <= i+9 && j < n; j++ {
			token := pw[i : j+1]
			x, y, z, ok := splitSeparatedDate(token)
			if !ok {
				continue
			}
			d, ok := mapIntsToDMY(x, y, z)
			if !ok {
				continue
			}
			ms = append(ms, &match{pattern: patDate, i: i, j: j, token: token, year: d.year, hasSeparator: true})
		}
	}
	// Drop dates that are within other dates.
	kept := ms[:0:0]
	for _, m := range ms {
		sub := false
		for _, o := range ms {
			if o != m && o.i <= m.i && o.j >= m.j {
				sub = true
				break
			}
		}
		if !sub {
			kept = append(kept, m)
		}
	}
	sortMatches(kept)
	return kept
}

func allDigits(rs []rune) bool {
	for _, r := range rs {
		if !isDigit(r) {
			return false
		}
	}
	return len(rs) > 0
}

// splitSeparatedDate matches /^(\d{1,4})([\s/\\_.-])(\d{1,2})\2(\d{1,4})$/.
func splitSeparatedDate(t []rune) (a, b, c int, ok bool) {
	p := 0
	for p < len(t) && isDigit(t[p]) {
		p++
	}
	if p < 1 || p > 4 || p == len(t) || !isDateSeparator(t[p]) {
		return 0, 0, 0, false
	}
	sep := t[p]
	q := p + 1
	for q < len(t) && isDigit(t[q]) {
		q++
	}
	if q-p-1 < 1 || q-p-1 > 2 || q == len(t) || t[q] != sep {
		return 0, 0, 0, false
	}
	rest := t[q+1:]
	if len(rest) < 1 || len(rest) > 4 || !allDigits(rest) {
		return 0, 0, 0, false
	}
	return atoi(t[:p]), atoi(t[p+1 : q]), atoi(rest), true
}

// mapIntsToDMY reads three numbers as a date, as zxcvbn's map_ints_to_dmy.
func mapIntsToDMY(a, b, c int) (dmy, bool) {
	if b > 31 || b <= 0 {
		return dmy{}, false
	}
	over12, over31, under1 := 0, 0, 0
	for _, v := range [3]int{a, b, c} {
		if v > 99 && v < dateMinYear || v > dateMaxYear {
			return dmy{}, false
		}
		if v > 31 {
			over31++
		}
		if v > 12 {
			over12++
		}
		if v <= 0 {
			under1++
		}
	}
	if over31 >= 2 || over12 == 3 || under1 >= 2 {
		return dmy{}, false
	}
	splits := [2]struct{ year, x, y int }{{c, a, b}, {a, b, c}} // year last, year first
	// A four-digit year decides: the rest must then be a day and month.
	for _, s := range splits {
		if s.year >= dateMinYear && s.year <= dateMaxYear {
			d, m, ok := mapIntsToDM(s.x, s.y)
			if !ok {
				return dmy{}, false
			}
			return dmy{d, m, s.year}, true
		}
	}
	for _, s := range splits {
		if d, m, ok := mapIntsToDM(s.x, s.y); ok {
			return dmy{d, m, twoToFourDigitYear(s.year)}, true
		}
	}
	return dmy{}, false
}

func mapIntsToDM(x, y int) (day, month int, ok bool) {
	for _, p := range [2][2]int{{x, y}, {y, x}} {
		if p[0] >= 1 && p[0] <= 31 && p[1] >= 1 && p[1] <= 12 {
			return p[0], p[1], true
		}
	}
	return 0, 0, false
}

func twoToFourDigitYear(y int) int {
	switch {
	case y > 99:
		return y
	case y > 50:
		return y + 1900
	default:
		return y + 2000
	}
}

func abs(x int) int { return max(x, -x) }
