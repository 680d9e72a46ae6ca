package capture

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// lzGolden is testdata/lzstring_golden.json, produced by running the real
// JavaScript library (lz-string@1.5.0, LZString.compressToBase64) under node.
type lzGolden struct {
	Generator string `json:"generator"`
	Vectors   []struct {
		Input      string `json:"input"`
		Compressed string `json:"compressed"`
	} `json:"vectors"`
	// Inputs holding unpaired surrogates, which a Go string cannot carry:
	// decoding them from JSON already turned each into U+FFFD, which is what
	// DecompressFromBase64 must produce too.
	LoneSurrogates []struct {
		Input      string `json:"input"`
		Compressed string `json:"compressed"`
	} `json:"lone_surrogates"`
}

func loadLZGolden(t testing.TB) lzGolden {
	t.Helper()
	b, err := os.ReadFile("testdata/lzstring_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g lzGolden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Vectors) < 12 {
		t.Fatalf("golden file has only %d vectors", len(g.Vectors))
	}
	return g
}

func TestLZStringGolden(t *testing.T) {
	g := loadLZGolden(t)
	for _, v := range g.Vectors {
		name := v.Input
		if len(name) > 24 {
			name = name[:24]
		}
		t.Run(name, func(t *testing.T) {
			if got := CompressToBase64(v.Input); got != v.Compressed {
				t.Errorf("CompressToBase64 differs from %s\n got: %.120s\nwant: %.120s", g.Generator, got, v.Compressed)
			}
			got, err := DecompressFromBase64(v.Compressed)
			if err != nil {
				t.Fatalf("DecompressFromBase64: %v", err)
			}
			if got != v.Input {
				t.Errorf("DecompressFromBase64 = %.80q, want %.80q", got, v.Input)
			}
		})
	}
}

func TestLZStringLoneSurrogates(t *testing.T) {
	g := loadLZGolden(t)
	if len(g.LoneSurrogates) == 0 {
		t.Fatal("no lone-surrogate vectors")
	}
	for _, v := range g.LoneSurrogates {
		got, err := DecompressFromBase64(v.Compressed)
		if err != nil {
			t.Fatalf("DecompressFromBase64(%q): %v", v.Compressed, err)
		}
		if got != v.Input || !strings.ContainsRune(got, utf8.RuneError) {
			t.Errorf("DecompressFromBase64(%q) = %q, want %q", v.Compressed, got, v.Input)
		}
	}
}

func TestLZStringRoundTrip(t *testing.T) {
	var long strings.Builder
	for i := 0; i < 20000; i++ {
		long.WriteRune(rune(0x20 + (i*7919)%0x2FF0))
	}
	inputs := []string{
		"", "x", "xx", "xyz", strings.Repeat("ab", 5000), strings.Repeat("🙂", 300),
		"\x00\x01\x02\xff", // invalid UTF-8 becomes U+FFFD
		long.String(),
		strings.Repeat("__proto__", 20) + "constructor__proto__",
	}
	for _, in := range inputs {
		want := string([]rune(in)) // one U+FFFD per invalid byte, as ranging over a string gives
		c := CompressToBase64(in)
		if len(c)%4 != 0 {
			t.Errorf("compressed length %d not a multiple of 4", len(c))
		}
		got, err := DecompressFromBase64(c)
		if err != nil {
			t.Fatalf("round trip of %.20q: %v", in, err)
		}
		if got != want {
			t.Errorf("round trip of %.20q gave %.20q", in, got)
		}
	}
}

func TestLZStringDecompressErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty input", "", errLZEmpty},
		{"start code 3", "w", errLZBadStart}, // first two bits 11
		{"truncated", CompressToBase64("hello world")[:3], errLZTruncated},
		{"bad back-reference", "BIUwNmD2A0AEDukB/////////", errLZBadCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecompressFromBase64(tt.in)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLZStringOutputCap(t *testing.T) {
	c := CompressToBase64(strings.Repeat("A", 1<<20))
	if len(c) > 16<<10 {
		t.Fatalf("1 MiB of 'A' compressed to %d bytes", len(c))
	}
	if _, err := lzDecompress(c, 1024); !errors.Is(err, errLZTooLarge) {
		t.Errorf("err = %v, want errLZTooLarge", err)
	}
	u, err := lzDecompress(c, 1<<20)
	if err != nil || len(u) != 1<<20 {
		t.Errorf("at exactly the cap: %d units, %v", len(u), err)
	}
}

func FuzzLZString(f *testing.F) {
	f.Add("hello")
	f.Add("BIUwNmD2A0AEDukBOYAmBCIA")
	f.Add("🙂🚀 héllo")
	f.Fuzz(func(t *testing.T, s string) {
		// Decompressing arbitrary text must not panic.
		_, _ = DecompressFromBase64(s)
		want := string([]rune(s))
		got, err := DecompressFromBase64(CompressToBase64(s))
		if err != nil || got != want {
			t.Fatalf("round trip of %q = %q, %v", s, got, err)
		}
	})
}
