package strength

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// testCase is one password of the agreement corpus.
type testCase struct {
	Category   string   `json:"-"`
	Password   string   `json:"password"`
	UserInputs []string `json:"user_inputs,omitempty"`
}

// referenceResult is what testdata/node/batch.js prints per password.
type referenceResult struct {
	Score       int      `json:"score"`
	Guesses     float64  `json:"guesses"`
	Warning     string   `json:"warning"`
	Suggestions []string `json:"suggestions"`
	Sequence    []string `json:"sequence"`
}

// testLists returns the embedded frequency lists by name, in rank order.
func testLists(t testing.TB) map[string][]string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(frequencyListsGz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	lists := map[string][]string{}
	for k := 0; k+1 < len(lines); k += 2 {
		lists[lines[k]] = strings.Split(lines[k+1], ",")
	}
	return lists
}

// corpusGen builds the agreement corpus deterministically.
type corpusGen struct {
	rnd   *rand.Rand
	lists map[string][]string
	cases []testCase
}

func (g *corpusGen) add(category string, pws ...string) {
	for _, p := range pws {
		g.cases = append(g.cases, testCase{Category: category, Password: p})
	}
}

func (g *corpusGen) pick(xs []string) string { return xs[g.rnd.IntN(len(xs))] }

// word picks a word of the named list with rank in [lo, hi).
func (g *corpusGen) word(list string, lo, hi int) string {
	l := g.lists[list]
	hi = min(hi, len(l)+1)
	return l[lo-1+g.rnd.IntN(hi-lo)]
}

func (g *corpusGen) digits(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('0' + g.rnd.IntN(10)))
	}
	return b.String()
}

func (g *corpusGen) randomString(alphabet string, n int) string {
	a := []rune(alphabet)
	var b strings.Builder
	for range n {
		b.WriteRune(a[g.rnd.IntN(len(a))])
	}
	return b.String()
}

func capitalize(s string) string {
	r := []rune(s)
	if len(r) > 0 {
		r[0] = unicode.ToUpper(r[0])
	}
	return string(r)
}

func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// l33tify substitutes some or all l33t-able letters.
func (g *corpusGen) l33tify(s string, all bool) string {
	subs := map[rune][]rune{'a': {'4', '@'}, 'e': {'3'}, 'i': {'1', '!'}, 'o': {'0'}, 's': {'$', '5'}, 't': {'7', '+'}, 'l': {'1'}, 'g': {'9'}, 'b': {'8'}}
	r := []rune(s)
	for k, c := range r {
		if opts, ok := subs[c]; ok && (all || g.rnd.IntN(2) == 0) {
			r[k] = opts[g.rnd.IntN(len(opts))]
		}
	}
	return string(r)
}

func (g *corpusGen) date() (d, m, y int) {
	return 1 + g.rnd.IntN(28), 1 + g.rnd.IntN(12), 1940 + g.rnd.IntN(100)
}

// keyboardWalk walks the qwerty graph from a random key, turning now and
// then, sometimes shifting.
func (g *corpusGen) keyboardWalk(n int, turnEvery int, shift bool) string {
	qwerty := loadTables().graphs[0]
	var keys []rune
	for r := range rune(128) {
		if qwerty.adjacent[r] != nil && (unicode.IsLower(r) || unicode.IsDigit(r)) {
			keys = append(keys, r)
		}
	}
	cur := keys[g.rnd.IntN(len(keys))]
	dir := g.rnd.IntN(6)
	out := []rune{cur}
	for len(out) < n {
		adj := qwerty.adjacent[cur]
		if g.rnd.IntN(turnEvery) == 0 || adj[dir][0] == -1 {
			var dirs []int
			for d, nb := range adj {
				if nb[0] != -1 {
					dirs = append(dirs, d)
				}
			}
			dir = dirs[g.rnd.IntN(len(dirs))]
		}
		nb := adj[dir]
		cur = nb[0]
		c := cur
		if shift && g.rnd.IntN(3) == 0 {
			c = nb[1]
		}
		out = append(out, c)
	}
	return string(out)
}

// agreementCorpus generates the corpus: a seeded mix of the password
// shapes people use, weighted towards the score 2/3 boundary.
func agreementCorpus(t testing.TB) []testCase {
	return agreementCorpusSeed(t, 42)
}

func agreementCorpusSeed(t testing.TB, seed uint64) []testCase {
	g := &corpusGen{rnd: rand.New(rand.NewPCG(4, seed)), lists: testLists(t)}
	const (
		pw   = "passwords"
		wiki = "english_wikipedia"
		tv   = "us_tv_and_film"
	)
	seps := []string{"", " ", "-", "_", ".", "", ""}

	// Common passwords, top to tail of the list.
	for _, r := range [][2]int{{1, 100}, {100, 2000}, {2000, 30001}} {
		for range 10 {
			g.add("common", g.word(pw, r[0], r[1]))
		}
	}
	// Their variants.
	for range 70 {
		w := g.word(pw, 1, 20000)
		switch g.rnd.IntN(10) {
		case 0:
			w = capitalize(w)
		case 1:
			w = strings.ToUpper(w)
		case 2:
			w = g.l33tify(w, g.rnd.IntN(2) == 0)
		case 3:
			w += g.digits(1 + g.rnd.IntN(4))
		case 4:
			w += fmt.Sprint(1950 + g.rnd.IntN(80))
		case 5:
			w = capitalize(w) + g.digits(1+g.rnd.IntN(3)) + g.pick([]string{"!", "?", "#", "."})
		case 6:
			w = reverse(w)
		case 7:
			w = capitalize(g.l33tify(w, false)) + g.digits(2)
		case 8:
			w = g.digits(1+g.rnd.IntN(3)) + w
		case 9:
			w = w + w[:min(len(w), 3)]
		}
		g.add("common-variant", w)
	}
	// Dates in many formats, alone or after a name or word.
	formats := []func(d, m, y int) string{
		func(d, m, y int) string { return fmt.Sprintf("%02d/%02d/%d", d, m, y) },
		func(d, m, y int) string { return fmt.Sprintf("%d.%d.%02d", d, m, y%100) },
		func(d, m, y int) string { return fmt.Sprintf("%d-%02d-%02d", y, m, d) },
		func(d, m, y int) string { return fmt.Sprintf("%02d%02d%d", d, m, y) },
		func(d, m, y int) string { return fmt.Sprintf("%02d%02d%02d", m, d, y%100) },
		func(d, m, y int) string { return fmt.Sprintf("%d%02d%02d", y, m, d) },
		func(d, m, y int) string { return fmt.Sprintf("%02d_%02d_%02d", d, m, y%100) },
		func(d, m, y int) string { return fmt.Sprintf("%d %d %d", d, m, y) },
		func(d, m, y int) string { return fmt.Sprintf("%d%d%d", d, m, y) },
		func(d, m, y int) string { return fmt.Sprintf("%02d\\%02d\\%d", m, d, y) },
	}
	for k := range 45 {
		d, m, y := g.date()
		s := formats[k%len(formats)](d, m, y)
		switch g.rnd.IntN(4) {
		case 0:
			s = g.word("female_names", 1, 2000) + s
		case 1:
			s = capitalize(g.word(wiki, 500, 20000)) + s + "!"
		}
		g.add("date", s)
	}
	// Keyboard walks, fixed and random.
	g.add("keyboard", "qwertyuiop", "asdfghjkl", "zxcvbnm", "1qaz2wsx", "qazwsxedc", "!QAZ2wsx",
		"zaq12wsx", "poiuytrewq", "qwerty123", "asdf1234", "1q2w3e4r5t", "mnbvcxz", "789456123",
		"147258369", "0147852369", "qweasdzxc", "aoeuidhtns", "',.pyfgcrl", "QWERTYuiop", "qwe!@#asd",
		"zxcvbn12345", "1234qwer", "qwertzuiop", "yxcvbnm", "9632147", "/*-789456")
	for range 30 {
		g.add("keyboard-random", g.keyboardWalk(6+g.rnd.IntN(9), 2+g.rnd.IntN(5), g.rnd.IntN(3) == 0))
	}
	// Sequences and repeats.
	g.add("sequence-repeat", "abcdefgh", "13579", "zyxwvu", "aaaaaaaa", "abcabcabc", "121212",
		"abcdef123456", "9876543210", "ACEGIK", "xyzxyzxyz1", "aaaaaaaaaaaaaaaa", "qwertyqwerty",
		"passwordpassword", "11112222", "abab1212cdcd", "mnopqrstu", "aabbccdd")
	for range 20 {
		unit := g.randomString("abcdefghijklmnopqrstuvwxyz0123456789", 1+g.rnd.IntN(4))
		s := strings.Repeat(unit, 2+g.rnd.IntN(4))
		if g.rnd.IntN(2) == 0 {
			start := 'a' + rune(g.rnd.IntN(20))
			step := 1 + rune(g.rnd.IntN(3))
			var b strings.Builder
			for k := range rune(3 + g.rnd.IntN(5)) {
				b.WriteRune(start + k*step)
			}
			s = b.String() + g.digits(g.rnd.IntN(4))
		}
		g.add("sequence-repeat-random", s)
	}
	// Short random strings from various alphabets: 10^n bruteforce puts
	// lengths 8 and 9 right at the boundary.
	alphabets := []string{
		"abcdefghijklmnopqrstuvwxyz",
		"abcdefghijklmnopqrstuvwxyz0123456789",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()-_=+[]{};:,.<>/?",
		"0123456789",
		"0123456789abcdef",
	}
	for k := range 110 {
		g.add("random", g.randomString(alphabets[k%len(alphabets)], 6+g.rnd.IntN(7)))
	}
	// Passphrases of two to four words, with and without separators.
	for k := range 130 {
		n := 2 + k%3
		var words []string
		for range n {
			switch g.rnd.IntN(3) {
			case 0:
				words = append(words, g.word(wiki, 50, 30001))
			case 1:
				words = append(words, g.word(tv, 50, 19161))
			default:
				words = append(words, g.word(wiki, 1, 3000))
			}
		}
		if g.rnd.IntN(4) == 0 {
			for w := range words {
				words[w] = capitalize(words[w])
			}
		}
		s := strings.Join(words, g.pick(seps))
		if g.rnd.IntN(5) == 0 {
			s += g.digits(1 + g.rnd.IntN(3))
		}
		g.add("passphrase", s)
	}
	// Names and years.
	for range 45 {
		name := g.word(g.pick([]string{"female_names", "male_names", "surnames"}), 1, 4000)
		if g.rnd.IntN(2) == 0 {
			name = capitalize(name)
		}
		var year string
		switch g.rnd.IntN(4) {
		case 0:
			year = fmt.Sprint(1950 + g.rnd.IntN(80))
		case 1:
			year = fmt.Sprintf("%02d", g.rnd.IntN(100))
		case 2:
			year = fmt.Sprint(1950+g.rnd.IntN(80)) + "!"
		default:
			year = g.word("surnames", 1, 5000) + fmt.Sprint(1950+g.rnd.IntN(80))
		}
		g.add("name-year", name+year)
	}
	// Mixed: words, symbols and digits together, random junk in words.
	for range 50 {
		var s string
		switch g.rnd.IntN(5) {
		case 0:
			s = g.word(wiki, 100, 10000) + g.pick([]string{"!", "@", "#", "$", "&", "*"}) + g.digits(2+g.rnd.IntN(3))
		case 1:
			s = capitalize(g.word(pw, 100, 10000)) + g.randomString("!@#$%^&*", 1) + capitalize(g.word(wiki, 100, 10000))
		case 2:
			s = g.l33tify(g.word(wiki, 1000, 20000), false) + g.randomString("abcdefghijklmnopqrstuvwxyz0123456789", 3)
		case 3:
			s = g.randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ", 2) + g.word(tv, 100, 15000) + g.digits(3)
		case 4:
			s = g.word(pw, 1, 5000) + g.word(pw, 1, 5000)
		}
		g.add("mixed", s)
	}
	// User inputs.
	users := [][]string{
		{"alice@example.com", "Alice", "Liddell", "Wonderland Inc"},
		{"bob.smith@acme.io", "Bob", "Smith", "Acme"},
		{"zoë@posthog.com", "Zoë", "Quartermaine", "Gatehouse"},
	}
	for k := range 18 {
		u := users[k%len(users)]
		var s string
		switch k % 6 {
		case 0:
			s = strings.ToLower(u[1]) + fmt.Sprint(1960+g.rnd.IntN(60))
		case 1:
			s = u[2] + g.digits(3) + "!"
		case 2:
			s = strings.ReplaceAll(strings.ToLower(u[3]), " ", "") + g.digits(4)
		case 3:
			s = u[0]
		case 4:
			s = reverse(strings.ToLower(u[2])) + strings.ToLower(u[1])
		case 5:
			s = g.l33tify(strings.ToLower(u[2]), true) + g.randomString("abcdefghijklmnopqrstuvwxyz", 3)
		}
		g.cases = append(g.cases, testCase{Category: "user-inputs", Password: s, UserInputs: u})
	}
	// Edge cases.
	long := ""
	for len(long) < 130 {
		long += g.word(wiki, 1, 30001)
	}
	g.add("edge", "", "a", "Z9", long, strings.Repeat("a", 150), strings.Repeat("ab12", 30),
		"pässwört", "密码密码123", "Ünïcödé-Straße", "constructor", "myconstructor1", "__proto__pass",
		"ab\nab\nab", "tab\tseparated\tpass", "correcthorsebatterystaple", "Tr0ub4dour&3", "😀😀😀😀pass")
	return g.cases
}

// runReference runs the reference zxcvbn 4.4.2 on the corpus in one node
// process, or skips (or fails, when GATEHOUSE_TEST_REQUIRE lists node).
func runReference(t *testing.T, cases []testCase) []referenceResult {
	t.Helper()
	const install = "install Node.js and the reference zxcvbn: cd internal/password/strength/testdata/node && npm ci"
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Unavailable(t, "node", "node is not on PATH; "+install)
	}
	dir := filepath.Join("testdata", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "zxcvbn", "package.json")); err != nil {
		testenv.Unavailable(t, "node", "testdata/node/node_modules/zxcvbn is missing; "+install)
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "batch.js")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node batch.js: %v\n%s", err, stderr.String())
	}
	var res []referenceResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node batch.js output: %v", err)
	}
	if len(res) != len(cases) {
		t.Fatalf("node returned %d results for %d passwords", len(res), len(cases))
	}
	return res
}

// TestAgreesWithReferenceZxcvbn compares Check with the real zxcvbn 4.4.2
// on a generated corpus: PostHog's decision (score >= 3) must agree on at
// least 99% of it.
func TestAgreesWithReferenceZxcvbn(t *testing.T) {
	cases := agreementCorpus(t)
	if len(cases) < 300 {
		t.Fatalf("corpus has %d passwords, want at least 300", len(cases))
	}
	ref := runReference(t, cases)

	var decisions, scores, guesses, feedbacks, nearBoundary, short int
	var byScore [5]int
	perCategory := map[string][2]int{} // category -> {cases, decision agreements}
	var categories []string
	for k, c := range cases {
		got := Check(c.Password, c.UserInputs...)
		want := ref[k]
		pc, seen := perCategory[c.Category]
		if !seen {
			categories = append(categories, c.Category)
		}
		pc[0]++
		byScore[want.Score]++
		if want.Score == 2 || want.Score == 3 {
			nearBoundary++
		}
		decisionOK := (got.Score >= 3) == (want.Score >= 3)
		if decisionOK {
			decisions++
			pc[1]++
		}
		perCategory[c.Category] = pc
		if got.Score == want.Score {
			scores++
		}
		feedbackOK := got.Warning == want.Warning && slices.Equal(got.Suggestions, want.Suggestions)
		if feedbackOK {
			feedbacks++
		}
		// Beyond MaxAnalyzedLength Check sees less than zxcvbn, so only the
		// score is comparable.
		guessesOK := len(toUnits(c.Password)) > MaxAnalyzedLength
		if !guessesOK {
			short++
			if guessesOK = got.Guesses == want.Guesses; guessesOK {
				guesses++
			}
		}
		if !decisionOK || got.Score != want.Score || !guessesOK || !feedbackOK {
			t.Logf("disagreement (%s) %q: go score %d guesses %g warning %q suggestions %q; zxcvbn score %d guesses %g warning %q suggestions %q sequence %q",
				c.Category, c.Password, got.Score, got.Guesses, got.Warning, got.Suggestions,
				want.Score, want.Guesses, want.Warning, want.Suggestions, want.Sequence)
		}
	}
	n := float64(len(cases))
	pct := func(x int) float64 { return 100 * float64(x) / n }
	t.Logf("corpus: %d passwords, %d of them scored 2 or 3 by zxcvbn; by score 0-4: %v", len(cases), nearBoundary, byScore)
	for _, c := range categories {
		t.Logf("  %-24s %3d passwords, %3d decisions agree", c, perCategory[c][0], perCategory[c][1])
	}
	t.Logf("decision (score >= 3) agreement: %d/%d = %.2f%%", decisions, len(cases), pct(decisions))
	t.Logf("exact score agreement:           %d/%d = %.2f%%", scores, len(cases), pct(scores))
	t.Logf("guesses bit-exact:               %d/%d = %.2f%% of passwords up to MaxAnalyzedLength", guesses, short, 100*float64(guesses)/float64(short))
	t.Logf("feedback agreement:              %d/%d = %.2f%%", feedbacks, len(cases), pct(feedbacks))
	if pct(decisions) < 99 {
		t.Errorf("decision agreement %.2f%% is below 99%%", pct(decisions))
	}
}
