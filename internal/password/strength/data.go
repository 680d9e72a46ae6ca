package strength

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"unicode/utf8"
)

// The data files are generated from the npm package zxcvbn 4.4.2 by
// testdata/node/gendata.js (run `npm ci` in testdata/node first), so the
// ranks are exactly the ones the reference uses, including its truncation
// of each list.
//
//go:generate node testdata/node/gendata.js

//go:embed data/frequency_lists.txt.gz
var frequencyListsGz []byte

//go:embed data/adjacency_graphs.json
var adjacencyGraphsJSON []byte

//go:embed data/pow_tables.json
var powTablesJSON []byte

// dictID names one of zxcvbn's ranked dictionaries. The order is zxcvbn's
// iteration order, which decides ties between equally guessable matches.
type dictID uint8

const (
	dictPasswords dictID = iota
	dictEnglishWikipedia
	dictFemaleNames
	dictSurnames
	dictUSTVAndFilm
	dictMaleNames
	numBuiltinDicts
	// dictUserInputs is the per-call dictionary of user inputs; zxcvbn adds
	// it after the built-in ones.
	dictUserInputs = numBuiltinDicts
)

var dictNames = [...]string{
	dictPasswords:        "passwords",
	dictEnglishWikipedia: "english_wikipedia",
	dictFemaleNames:      "female_names",
	dictSurnames:         "surnames",
	dictUSTVAndFilm:      "us_tv_and_film",
	dictMaleNames:        "male_names",
	dictUserInputs:       "user_inputs",
}

func (d dictID) String() string { return dictNames[d] }

// rankSet holds a word's 1-based rank in each built-in dictionary, 0 where
// the word is absent.
type rankSet [numBuiltinDicts]int32

// neighbor is one direction of a key in an adjacency graph: the unshifted
// and shifted characters, -1 where absent (a key with no neighbour in that
// direction has both -1).
type neighbor [2]rune

// adjacencyGraph is one of zxcvbn's keyboard layouts.
type adjacencyGraph struct {
	name string
	// keyboard is true for qwerty and dvorak (shift state is tracked, and
	// the keyboard constants apply), false for the keypads.
	keyboard bool
	// adjacent holds each key's neighbours in zxcvbn's direction order; all
	// keys are ASCII, other characters have no neighbours.
	adjacent [128][]neighbor
}

func (g *adjacencyGraph) neighbors(r rune) []neighbor {
	if r < 0 || r >= 128 {
		return nil
	}
	return g.adjacent[r]
}

// tables is everything loaded from the embedded data.
type tables struct {
	words  *wordTrie
	graphs []*adjacencyGraph

	// Constants of spatial_guesses, derived from the graphs as zxcvbn does.
	keyboardStartingPositions float64
	keyboardAverageDegree     float64
	keypadStartingPositions   float64
	keypadAverageDegree       float64

	// Math.pow(base, n) as V8 computes it (fdlibm), for the integer powers
	// zxcvbn takes; see jsPow.
	pow10, pow10000, powKeyboardDegree, powKeypadDegree []float64
}

// jsPow is JavaScript's Math.pow(base, n) for n >= 0, read from table,
// which holds V8's results for base. V8's pow and Go's math.Pow disagree in
// the last bit for many of these powers (V8 gives 10**26 as
// 9.999999999999999e+25), and a last bit can decide between two match
// sequences of nearly equal guesses. Beyond the table (longer than any
// analysed password) it falls back to math.Pow.
func jsPow(table []float64, base float64, n int) float64 {
	if n >= 0 && n < len(table) {
		return table[n]
	}
	return math.Pow(base, float64(n))
}

// loadTables parses the embedded data once.
var loadTables = sync.OnceValue(func() *tables {
	t, err := parseTables(frequencyListsGz, adjacencyGraphsJSON, powTablesJSON)
	if err != nil {
		panic("strength: embedded zxcvbn data is corrupt: " + err.Error())
	}
	return t
})

func parseTables(listsGz, graphsJSON, powJSON []byte) (*tables, error) {
	zr, err := gzip.NewReader(bytes.NewReader(listsGz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	if len(lines) != 2*int(numBuiltinDicts) {
		return nil, fmt.Errorf("frequency lists: %d lines, want %d", len(lines), 2*numBuiltinDicts)
	}
	t := &tables{}
	ranks := make(map[string]rankSet, 100_000)
	for d := range numBuiltinDicts {
		if name := lines[2*int(d)]; name != d.String() {
			return nil, fmt.Errorf("frequency lists: list %d is %q, want %q", d, name, d)
		}
		for i, w := range strings.Split(lines[2*int(d)+1], ",") {
			if w == "" {
				return nil, fmt.Errorf("frequency lists: empty word in %s", d)
			}
			rs := ranks[w]
			if rs[d] == 0 { // zxcvbn's lists have no duplicates; keep the first rank regardless
				rs[d] = int32(i + 1)
			}
			ranks[w] = rs
		}
	}
	t.words = newWordTrie(ranks)

	var graphs map[string]map[string][]*string
	if err := json.Unmarshal(graphsJSON, &graphs); err != nil {
		return nil, fmt.Errorf("adjacency graphs: %w", err)
	}
	// zxcvbn's GRAPHS order, which is also the order of spatial matches.
	for _, name := range []string{"qwerty", "dvorak", "keypad", "mac_keypad"} {
		src, ok := graphs[name]
		if !ok {
			return nil, fmt.Errorf("adjacency graphs: no %s", name)
		}
		g := &adjacencyGraph{name: name, keyboard: name == "qwerty" || name == "dvorak"}
		degree := 0
		for key, adj := range src {
			r, size := utf8.DecodeRuneInString(key)
			if size != len(key) || r >= 128 {
				return nil, fmt.Errorf("adjacency graphs: %s key %q is not one ASCII character", name, key)
			}
			ns := make([]neighbor, len(adj))
			for i, a := range adj {
				ns[i] = neighbor{-1, -1}
				if a == nil {
					continue
				}
				degree++
				k := 0
				for _, c := range *a {
					if k == 2 {
						return nil, fmt.Errorf("adjacency graphs: %s neighbour %q is too long", name, *a)
					}
					ns[i][k] = c
					k++
				}
			}
			g.adjacent[r] = ns
		}
		avg := float64(degree) / float64(len(src))
		switch name {
		case "qwerty":
			t.keyboardStartingPositions, t.keyboardAverageDegree = float64(len(src)), avg
		case "keypad":
			t.keypadStartingPositions, t.keypadAverageDegree = float64(len(src)), avg
		}
		t.graphs = append(t.graphs, g)
	}
	return t, parsePowTables(t, powJSON)
}

func parsePowTables(t *tables, powJSON []byte) error {
	var p struct {
		KeyboardAverageDegree    float64    `json:"keyboard_average_degree"`
		KeypadAverageDegree      float64    `json:"keypad_average_degree"`
		Pow10                    []*float64 `json:"pow10"`
		Pow10000                 []*float64 `json:"pow10000"`
		KeyboardAverageDegreePow []*float64 `json:"keyboard_average_degree_pow"`
		KeypadAverageDegreePow   []*float64 `json:"keypad_average_degree_pow"`
	}
	if err := json.Unmarshal(powJSON, &p); err != nil {
		return fmt.Errorf("pow tables: %w", err)
	}
	if p.KeyboardAverageDegree != t.keyboardAverageDegree || p.KeypadAverageDegree != t.keypadAverageDegree {
		return fmt.Errorf("pow tables: average degrees %v, %v do not match the graphs' %v, %v",
			p.KeyboardAverageDegree, p.KeypadAverageDegree, t.keyboardAverageDegree, t.keypadAverageDegree)
	}
	// JSON has no Infinity: JavaScript writes overflowed powers as null.
	floats := func(ps []*float64) []float64 {
		fs := make([]float64, len(ps))
		for i, f := range ps {
			fs[i] = math.Inf(1)
			if f != nil {
				fs[i] = *f
			}
		}
		return fs
	}
	t.pow10 = floats(p.Pow10)
	t.pow10000 = floats(p.Pow10000)
	t.powKeyboardDegree = floats(p.KeyboardAverageDegreePow)
	t.powKeypadDegree = floats(p.KeypadAverageDegreePow)
	for _, tab := range [][]float64{t.pow10, t.pow10000, t.powKeyboardDegree, t.powKeypadDegree} {
		if len(tab) <= MaxAnalyzedLength {
			return fmt.Errorf("pow tables: %d entries, want more than MaxAnalyzedLength", len(tab))
		}
	}
	return nil
}
