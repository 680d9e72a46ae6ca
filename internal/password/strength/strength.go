// Package strength estimates password strength exactly as the JavaScript
// library zxcvbn 4.4.2 (Dropbox) does, which PostHog uses to accept
// passwords (score at least 3).
//
// It is our own Go implementation of zxcvbn 4.4.2's algorithm, with its
// data (the ranked frequency lists, truncated as the npm package ships
// them, and the keyboard adjacency graphs) generated from the npm package
// by testdata/node/gendata.js and embedded. A password is split into
// candidate matches (dictionary words, also reversed and in l33t; keyboard
// walks on qwerty, dvorak and the keypads; repeats; sequences; recent
// years; dates); each match gets a guess estimate, and the score comes
// from the sequence of non-overlapping matches, with bruteforce in the
// gaps, that needs the fewest guesses. The agreement test checks the
// decisions against the real zxcvbn in node.
//
// Deviations from zxcvbn-js, all on inputs outside its usual range:
//   - Only the first MaxAnalyzedLength characters are analysed, to bound
//     the work; see there.
//   - Like JavaScript, it works on UTF-16 code units (an emoji is two), but
//     it lower-cases code point by code point, so JavaScript's special
//     cases (İ becoming two units, final sigma) are not reproduced; they
//     only matter for non-ASCII user inputs and passwords containing İ.
//   - The reference year for dates and years is the current year, as in
//     zxcvbn, but read at each call rather than once at start-up.
package strength

import (
	"slices"
	"strings"
	"time"
)

// MaxAnalyzedLength is the number of UTF-16 code units (characters, but
// two for an emoji) of a password that Check analyses; the rest is
// ignored. This bounds the work, which zxcvbn lets grow quadratically with
// the length, times the number of ways to read the l33t characters: a
// 100-character password costs at most a few milliseconds (typical ones
// tens of microseconds). zxcvbn analyses the whole string, so a longer
// password gets the result of its first 100 characters instead: almost
// always score 4 either way, but one that is weak over its first 100
// characters (100 × "a") stays weak whatever follows, and a cut through a
// word counts the word's start as random characters.
const MaxAnalyzedLength = 100

// Result is zxcvbn's verdict on a password.
type Result struct {
	Score       int      // 0..4
	Guesses     float64  // zxcvbn's estimate of the guesses needed
	Warning     string   // "" or zxcvbn's warning text, e.g. "This is a top-10 common password"
	Suggestions []string // zxcvbn's suggestions, empty (not nil) when it has none
}

// Check estimates a password's strength. userInputs (email, names,
// organization) count as a dictionary, as zxcvbn's user_inputs do
// (lower-cased, each input a whole word ranked by its position).
func Check(password string, userInputs ...string) Result {
	pw := toUnits(password)
	if len(pw) > MaxAnalyzedLength {
		cut := MaxAnalyzedLength
		if isPairAt(pw, cut-1) {
			cut-- // keep surrogate pairs whole
		}
		pw = pw[:cut]
	}
	a := &analyzer{t: loadTables(), refYear: time.Now().Year(), extraLengths: slices.Clone(prototypeKeyLengths)}
	if len(userInputs) > 0 {
		a.user = make(map[string]int, len(userInputs))
		for i, in := range userInputs {
			w := strings.ToLower(in)
			a.user[w] = i + 1 // a repeated input keeps its last rank, as in zxcvbn
			if l := len(toUnits(w)); l > 0 && l <= len(pw) {
				a.extraLengths = append(a.extraLengths, l)
			}
		}
		a.extraLengths = slices.Compact(slices.Sorted(slices.Values(a.extraLengths)))
	}
	seq, guesses := a.mostGuessableMatchSequence(pw, a.omnimatch(pw))
	score := guessesToScore(guesses)
	warning, suggestions := feedback(score, seq)
	return Result{Score: score, Guesses: guesses, Warning: warning, Suggestions: suggestions}
}
