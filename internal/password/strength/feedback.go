package strength

// Feedback texts of zxcvbn 4.4.2.
const (
	suggestionAddWord = "Add another word or two. Uncommon words are better."
)

var defaultSuggestions = []string{
	"Use a few words, avoid common phrases",
	"No need for symbols, digits, or uppercase letters",
}

// feedback is zxcvbn's get_feedback: nothing for scores 3 and 4, otherwise
// a warning and suggestions about the longest match of the sequence.
func feedback(score int, seq []*match) (warning string, suggestions []string) {
	if len(seq) == 0 {
		return "", append([]string(nil), defaultSuggestions...)
	}
	if score > 2 {
		return "", []string{}
	}
	longest := seq[0]
	for _, m := range seq[1:] {
		if len(m.token) > len(longest.token) {
			longest = m
		}
	}
	warning, more := matchFeedback(longest, len(seq) == 1)
	return warning, append([]string{suggestionAddWord}, more...)
}

func matchFeedback(m *match, soleMatch bool) (warning string, suggestions []string) {
	switch m.pattern {
	case patDictionary:
		return dictionaryFeedback(m, soleMatch)
	case patSpatial:
		warning = "Short keyboard patterns are easy to guess"
		if m.turns == 1 {
			warning = "Straight rows of keys are easy to guess"
		}
		return warning, []string{"Use a longer keyboard pattern with more turns"}
	case patRepeat:
		warning = `Repeats like "abcabcabc" are only slightly harder to guess than "abc"`
		if len(m.baseToken) == 1 {
			warning = `Repeats like "aaa" are easy to guess`
		}
		return warning, []string{"Avoid repeated words and characters"}
	case patSequence:
		return "Sequences like abc or 6543 are easy to guess", []string{"Avoid sequences"}
	case patRegex: // recent_year
		return "Recent years are easy to guess",
			[]string{"Avoid recent years", "Avoid years that are associated with you"}
	case patDate:
		return "Dates are often easy to guess", []string{"Avoid dates and years that are associated with you"}
	}
	return "", nil // bruteforce
}

func dictionaryFeedback(m *match, soleMatch bool) (warning string, suggestions []string) {
	switch m.dict {
	case dictPasswords:
		switch {
		case soleMatch && !m.l33t && !m.reversed:
			switch {
			case m.rank <= 10:
				warning = "This is a top-10 common password"
			case m.rank <= 100:
				warning = "This is a top-100 common password"
			default:
				warning = "This is a very common password"
			}
		case m.guessesLog10 <= 4:
			warning = "This is similar to a commonly used password"
		}
	case dictEnglishWikipedia:
		if soleMatch {
			warning = "A word by itself is easy to guess"
		}
	case dictSurnames, dictMaleNames, dictFemaleNames:
		warning = "Common names and surnames are easy to guess"
		if soleMatch {
			warning = "Names and surnames by themselves are easy to guess"
		}
	}
	w := m.token
	if startUpper(w) {
		suggestions = append(suggestions, "Capitalization doesn't help very much")
	} else if allUpper(w) && lowerString(w) != unitsString(w) {
		suggestions = append(suggestions, "All-uppercase is almost as easy to guess as all-lowercase")
	}
	if m.reversed && len(w) >= 4 {
		suggestions = append(suggestions, "Reversed words aren't much harder to guess")
	}
	if m.l33t {
		suggestions = append(suggestions, "Predictable substitutions like '@' instead of 'a' don't help very much")
	}
	return warning, suggestions
}
