package strength

import "math"

// Constants of zxcvbn's scoring.
const (
	bruteforceCardinality           = 10
	minGuessesBeforeGrowingSequence = 10000
	minSubmatchGuessesSingleChar    = 10
	minSubmatchGuessesMultiChar     = 50
	minYearSpace                    = 20
)

// nCk is the binomial coefficient, computed in floating point the way
// zxcvbn does (the rounding matters for exact agreement).
func nCk(n, k int) float64 {
	if k > n {
		return 0
	}
	if k == 0 {
		return 1
	}
	r := 1.0
	nf := float64(n)
	for d := 1; d <= k; d++ {
		r *= nf
		r /= float64(d)
		nf--
	}
	return r
}

func factorial(n int) float64 {
	f := 1.0
	for i := 2; i <= n; i++ {
		f *= float64(i)
	}
	return f
}

func log10(x float64) float64 { return math.Log(x) / math.Log(10) }

// ---------------------------------------------------------------------------
// Minimum-guesses match sequence.

// slot is optimal.{m,pi,g}[k][l] of zxcvbn: the best known sequence of l
// matches covering the password up to k.
type slot struct {
	l  int
	m  *match
	pi float64 // product of the matches' guesses
	g  float64 // l! * pi + D^(l-1)
}

// optimal holds, for each end index k, the slots in increasing l.
type optimal [][]slot

func (o optimal) find(k, l int) *slot {
	for x := range o[k] {
		if o[k][x].l == l {
			return &o[k][x]
		}
	}
	return nil
}

// mostGuessableMatchSequence is zxcvbn's search for the sequence of
// non-overlapping matches, gaps filled by bruteforce, that minimises
//
//	g = l! * Product(m.guesses for m in sequence) + D^(l-1)
//
// where l is the sequence length and D = 10000: an attacker tries the l!
// orders of the patterns, and shorter sequences first. It returns the
// sequence and g. It is a dynamic programme over the end index k and the
// length l, keeping per (k, l) only a sequence that beats every shorter one.
func (a *analyzer) mostGuessableMatchSequence(pw []rune, matches []*match) ([]*match, float64) {
	n := len(pw)
	if n == 0 {
		return nil, 1
	}
	// Matches by end index, in i order; matches are sorted by (i, j) with
	// a stable sort, so bucketing in order keeps zxcvbn's tie order.
	byJ := make([][]*match, n)
	for _, m := range matches {
		byJ[m.j] = append(byJ[m.j], m)
	}
	opt := make(optimal, n)

	update := func(m *match, l int) {
		k := m.j
		pi := a.estimateGuesses(m, n)
		if l > 1 {
			pi *= opt.find(m.i-1, l-1).pi
		}
		g := factorial(l)*pi + jsPow(a.t.pow10000, minGuessesBeforeGrowingSequence, l-1)
		// Skip unless better than every sequence of l or fewer matches
		// covering the same prefix. (NaN, from the prototype-key quirk,
		// compares false both ways, as in JavaScript.)
		at := len(opt[k])
		for x, s := range opt[k] {
			if s.l > l {
				at = x
				break
			}
			if s.g <= g {
				return
			}
		}
		if s := opt.find(k, l); s != nil {
			*s = slot{l: l, m: m, pi: pi, g: g}
			return
		}
		opt[k] = append(opt[k], slot{})
		copy(opt[k][at+1:], opt[k][at:])
		opt[k][at] = slot{l: l, m: m, pi: pi, g: g}
	}

	bruteforce := func(i, j int) *match {
		return &match{pattern: patBruteforce, i: i, j: j, token: pw[i : j+1]}
	}

	for k := range n {
		for _, m := range byJ[k] {
			if m.i == 0 {
				update(m, 1)
				continue
			}
			for x := 0; x < len(opt[m.i-1]); x++ {
				update(m, opt[m.i-1][x].l+1)
			}
		}
		// A single bruteforce match over the whole prefix, or one appended
		// to a sequence ending at i-1 (never to another bruteforce match:
		// one longer bruteforce match is always better).
		update(bruteforce(0, k), 1)
		for i := 1; i <= k; i++ {
			m := bruteforce(i, k)
			for x := 0; x < len(opt[i-1]); x++ {
				s := opt[i-1][x]
				if s.m.pattern == patBruteforce {
					continue
				}
				update(m, s.l+1)
			}
		}
	}

	// Unwind from the best final slot (the first of the lowest).
	best := -1
	g := math.Inf(1)
	for x, s := range opt[n-1] {
		if s.g < g {
			best, g = x, s.g
		}
	}
	if best < 0 {
		// Unreachable: the single bruteforce match over the whole password
		// always leaves a finite length-1 slot. Guard the login path anyway.
		m := bruteforce(0, n-1)
		return []*match{m}, a.estimateGuesses(m, n)
	}
	l := opt[n-1][best].l
	seq := make([]*match, l)
	for k := n - 1; k >= 0; l-- {
		m := opt.find(k, l).m
		seq[l-1] = m
		k = m.i - 1
	}
	return seq, g
}

// ---------------------------------------------------------------------------
// Guess estimates, one per pattern.

// estimateGuesses estimates the guesses an attacker needs for m, at least
// 10 (one character) or 50 (more) for a match that is only part of the
// password of length pwLen, so that sequences of many tiny matches are not
// favoured. The estimate is cached on the match.
func (a *analyzer) estimateGuesses(m *match, pwLen int) float64 {
	if m.guessesKnown {
		return m.guesses
	}
	minGuesses := 1.0
	if len(m.token) < pwLen {
		if len(m.token) == 1 {
			minGuesses = minSubmatchGuessesSingleChar
		} else {
			minGuesses = minSubmatchGuessesMultiChar
		}
	}
	var g float64
	switch m.pattern {
	case patBruteforce:
		g = a.bruteforceGuesses(m)
	case patDictionary:
		g = dictionaryGuesses(m)
	case patSpatial:
		g = a.spatialGuesses(m)
	case patRepeat:
		g = m.baseGuesses * m.repeatCount
	case patSequence:
		g = sequenceGuesses(m)
	case patRegex, patDate:
		g = a.yearGuesses(m)
	}
	m.guesses = math.Max(g, minGuesses) // NaN stays NaN, as with Math.max
	m.guessesLog10 = log10(m.guesses)
	m.guessesKnown = true
	return m.guesses
}

func (a *analyzer) bruteforceGuesses(m *match) float64 {
	g := jsPow(a.t.pow10, bruteforceCardinality, len(m.token))
	if math.IsInf(g, 1) {
		g = math.MaxFloat64
	}
	// One more than the minimum for submatches, so that a real match over
	// the same span always wins.
	if len(m.token) == 1 {
		return max(g, minSubmatchGuessesSingleChar+1)
	}
	return max(g, minSubmatchGuessesMultiChar+1)
}

func dictionaryGuesses(m *match) float64 {
	g := m.rank * uppercaseVariations(m.token) * l33tVariations(m)
	if m.reversed {
		g *= 2
	}
	return g
}

func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }
func isLower(r rune) bool { return r >= 'a' && r <= 'z' }

func countFunc(rs []rune, f func(rune) bool) int {
	c := 0
	for _, r := range rs {
		if f(r) {
			c++
		}
	}
	return c
}

// Capitalisation shapes of zxcvbn (ASCII letters only, as its regexes):
// START_UPPER /^[A-Z][^A-Z]+$/, END_UPPER /^[^A-Z]+[A-Z]$/, ALL_UPPER
// /^[^a-z]+$/.
func startUpper(w []rune) bool {
	return len(w) >= 2 && isUpper(w[0]) && countFunc(w[1:], isUpper) == 0
}

func endUpper(w []rune) bool {
	return len(w) >= 2 && isUpper(w[len(w)-1]) && countFunc(w[:len(w)-1], isUpper) == 0
}

func allUpper(w []rune) bool { return len(w) >= 1 && countFunc(w, isLower) == 0 }

// uppercaseVariations is the factor capitalisation adds: 1 for none, 2 for
// the common shapes, otherwise the ways to pick the rarer case among the
// letters.
func uppercaseVariations(w []rune) float64 {
	upper := countFunc(w, isUpper)
	if upper == 0 {
		return 1
	}
	if startUpper(w) || endUpper(w) || allUpper(w) {
		return 2
	}
	lower := countFunc(w, isLower)
	v := 0.0
	for i := 1; i <= min(upper, lower); i++ {
		v += nCk(upper+lower, i)
	}
	return v
}

// l33tVariations is the factor l33t substitutions add, per substitution
// like uppercaseVariations: 2 if every such letter is substituted,
// otherwise the ways to pick the substituted ones.
func l33tVariations(m *match) float64 {
	if !m.l33t {
		return 1
	}
	lower := []rune(lowerString(m.token))
	v := 1.0
	for _, p := range m.sub {
		s := countFunc(lower, func(r rune) bool { return r == p.l33t })
		u := countFunc(lower, func(r rune) bool { return r == p.letter })
		if s == 0 || u == 0 {
			v *= 2
			continue
		}
		possibilities := 0.0
		for i := 1; i <= min(u, s); i++ {
			possibilities += nCk(u+s, i)
		}
		v *= possibilities
	}
	return v
}

// spatialGuesses counts the keyboard patterns of the match's length or
// less with as many turns or fewer, times the shift variations.
func (a *analyzer) spatialGuesses(m *match) float64 {
	s, d, powD := a.t.keypadStartingPositions, a.t.keypadAverageDegree, a.t.powKeypadDegree
	if m.graph.keyboard {
		s, d, powD = a.t.keyboardStartingPositions, a.t.keyboardAverageDegree, a.t.powKeyboardDegree
	}
	g := 0.0
	length := len(m.token)
	for i := 2; i <= length; i++ {
		for j := 1; j <= min(m.turns, i-1); j++ {
			g += nCk(i-1, j-1) * s * jsPow(powD, d, j)
		}
	}
	if m.shiftedCount > 0 {
		shifted := m.shiftedCount
		unshifted := length - shifted
		if unshifted == 0 {
			g *= 2
		} else {
			variations := 0.0
			for i := 1; i <= min(shifted, unshifted); i++ {
				variations += nCk(shifted+unshifted, i)
			}
			g *= variations
		}
	}
	return g
}

// sequenceGuesses: a few guesses for obvious starting points, the size of
// the alphabet otherwise, doubled for descending runs, times the length.
func sequenceGuesses(m *match) float64 {
	var base float64
	switch first := m.token[0]; {
	case first == 'a' || first == 'A' || first == 'z' || first == 'Z' ||
		first == '0' || first == '1' || first == '9':
		base = 4
	case isDigit(first):
		base = 10
	default:
		base = 26
	}
	if !m.ascending {
		base *= 2
	}
	return base * float64(len(m.token))
}

// yearGuesses serves recent_year regex matches (the years from the
// reference year, at least 20) and dates (that times 365 days, times 4 for
// the choice of separator).
func (a *analyzer) yearGuesses(m *match) float64 {
	years := float64(max(abs(m.year-a.refYear), minYearSpace))
	if m.pattern == patRegex {
		return years
	}
	g := years * 365
	if m.hasSeparator {
		g *= 4
	}
	return g
}

// guessesToScore maps guesses to zxcvbn's 0-4 score.
func guessesToScore(guesses float64) int {
	const delta = 5
	switch {
	case guesses < 1e3+delta:
		return 0 // too guessable
	case guesses < 1e6+delta:
		return 1 // very guessable: throttled online attacks
	case guesses < 1e8+delta:
		return 2 // somewhat guessable: unthrottled online attacks
	case guesses < 1e10+delta:
		return 3 // safely unguessable: offline attacks on a slow hash
	default:
		return 4 // very unguessable
	}
}
