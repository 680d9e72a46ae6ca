package capture

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// This file implements the base64 flavour of the LZ-based string codec used by
// pieroxy's JavaScript library "lz-string" (LZString.compressToBase64 /
// LZString.decompressFromBase64), which old posthog-js releases use for
// compression=lz64.
//
// The format, in short: the input is a sequence of UTF-16 code units. The
// encoder runs an LZW variant over them and writes a stream of codes, each
// code written least-significant bit first with a width (numBits) that grows
// as the dictionary grows. Codes 0 and 1 announce a literal code unit that
// follows in 8 or 16 bits, code 2 ends the stream, and codes from 3 on refer
// to dictionary entries. The bit stream is cut into 6-bit groups, most
// significant bit first, and each group is written as one character of the
// standard base64 alphabet; the text is padded with '=' to a multiple of 4.

const lzAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

// lzValue maps a byte of compressed text to its 6-bit value. Like the
// JavaScript library, characters outside the alphabet read as zero bits
// (and so does '=', whose index 64 has no bits in the low six).
var lzValue = func() (t [256]uint8) {
	for i := 0; i < 64; i++ {
		t[lzAlphabet[i]] = uint8(i)
	}
	return t
}()

// DefaultLZMaxUnits caps the output of DecompressFromBase64 at this many UTF-16
// code units (64 Mi), so that a small crafted input cannot allocate without
// bound.
const DefaultLZMaxUnits = 64 << 20

var (
	errLZEmpty     = errors.New("lz-string: empty input")
	errLZTruncated = errors.New("lz-string: truncated input")
	errLZBadCode   = errors.New("lz-string: invalid back-reference")
	errLZBadStart  = errors.New("lz-string: invalid stream start")
	errLZTooLarge  = errors.New("lz-string: decompressed output too large")
)

// DecompressFromBase64 decodes text produced by lz-string's
// LZString.compressToBase64 and returns the original string. UTF-16 surrogate
// pairs are combined; an unpaired surrogate becomes U+FFFD. Input that the
// JavaScript library would answer with null or "" for a non-empty stream (an
// empty input, a bad back-reference, a stream cut short) is reported as an
// error. The output is limited to DefaultLZMaxUnits code units.
func DecompressFromBase64(s string) (string, error) {
	units, err := lzDecompress(s, DefaultLZMaxUnits)
	if err != nil {
		return "", err
	}
	return string(utf16.Decode(units)), nil
}

// lzReader reads the bit stream of compressToBase64 output, least significant
// bit of each code first, most significant bit of each 6-bit character first.
type lzReader struct {
	s    string
	val  int // 6-bit value of the current character
	mask int // bit of val to read next; 32 down to 1
	next int // index of the character after the current one
}

func (r *lzReader) char(i int) int {
	if i < len(r.s) {
		return int(lzValue[r.s[i]])
	}
	return 0 // past the end reads as zero bits, as in JavaScript
}

func (r *lzReader) bits(n int) int {
	v := 0
	for i := 0; i < n; i++ {
		if r.val&r.mask != 0 {
			v |= 1 << i
		}
		r.mask >>= 1
		if r.mask == 0 {
			r.mask = 32
			r.val = r.char(r.next)
			r.next++
		}
	}
	return v
}

// lzSpan locates a dictionary entry inside the output decoded so far: every
// entry is a run of code units that has already been written out.
type lzSpan struct{ start, n int }

// lzDecompress decodes s into UTF-16 code units, failing with errLZTooLarge as
// soon as the output would exceed maxUnits.
func lzDecompress(s string, maxUnits int) ([]uint16, error) {
	if s == "" {
		return nil, errLZEmpty
	}
	r := &lzReader{s: s, mask: 32, next: 1}
	r.val = r.char(0)

	out := make([]uint16, 0, min(maxUnits, 4*len(s)+16))
	// Codes 0, 1 and 2 are control codes; their slots are placeholders.
	dict := make([]lzSpan, 3, 64)

	var first int
	switch r.bits(2) {
	case 0:
		first = r.bits(8)
	case 1:
		first = r.bits(16)
	case 2:
		return out, nil // the encoding of ""
	default:
		return nil, errLZBadStart
	}
	if maxUnits < 1 {
		return nil, errLZTooLarge
	}
	out = append(out, uint16(first))
	dict = append(dict, lzSpan{0, 1})
	w := lzSpan{0, 1} // the entry written last

	numBits := 3
	enlargeIn := 4 // codes left before numBits must grow; counts the entry above
	for {
		if r.next > len(s) {
			return nil, errLZTruncated
		}
		code := r.bits(numBits)
		var entry lzSpan
		switch code {
		case 0, 1:
			width := 8
			if code == 1 {
				width = 16
			}
			c := r.bits(width)
			if len(out)+1 > maxUnits {
				return nil, errLZTooLarge
			}
			entry = lzSpan{len(out), 1}
			out = append(out, uint16(c))
			dict = append(dict, entry)
			enlargeIn--
			if enlargeIn == 0 {
				enlargeIn = 1 << numBits
				numBits++
			}
		case 2:
			return out, nil
		default:
			switch {
			case code < len(dict):
				e := dict[code]
				if len(out)+e.n > maxUnits {
					return nil, errLZTooLarge
				}
				entry = lzSpan{len(out), e.n}
				out = append(out, out[e.start:e.start+e.n]...)
			case code == len(dict):
				// The entry being defined right now: w followed by w's first unit.
				if len(out)+w.n+1 > maxUnits {
					return nil, errLZTooLarge
				}
				entry = lzSpan{len(out), w.n + 1}
				out = append(out, out[w.start:w.start+w.n]...)
				out = append(out, out[w.start])
			default:
				return nil, errLZBadCode
			}
		}
		// w was written immediately before entry, so w plus entry's first unit
		// is one contiguous run of the output.
		dict = append(dict, lzSpan{w.start, w.n + 1})
		enlargeIn--
		w = entry
		if enlargeIn == 0 {
			enlargeIn = 1 << numBits
			numBits++
		}
	}
}

// lzWriter packs codes into base64 characters, 6 bits per character.
type lzWriter struct {
	out []byte
	val int
	pos int // bits already in val
}

// write emits the low n bits of v, least significant first.
func (w *lzWriter) write(v, n int) {
	for i := 0; i < n; i++ {
		w.val = w.val<<1 | v&1
		v >>= 1
		w.pos++
		if w.pos == 6 {
			w.out = append(w.out, lzAlphabet[w.val])
			w.val, w.pos = 0, 0
		}
	}
}

// finish pads the last character with zero bits. Like the JavaScript
// library it always writes one more character, even when the stream
// already ends on a character boundary.
func (w *lzWriter) finish() {
	for {
		w.val <<= 1
		w.pos++
		if w.pos == 6 {
			w.out = append(w.out, lzAlphabet[w.val])
			return
		}
	}
}

// CompressToBase64 compresses s the way lz-string's LZString.compressToBase64
// does, producing byte-identical output for the same text (the string is
// processed as UTF-16 code units; invalid UTF-8 is first replaced by U+FFFD).
func CompressToBase64(s string) string {
	units := toUTF16(s)
	w := &lzWriter{out: make([]byte, 0, len(units)/2+8)}

	var (
		single    = make(map[uint16]int)      // one-unit strings -> code
		longer    = make(map[uint64]int)      // (prefix code, last unit) -> code
		pending   = make(map[uint16]struct{}) // one-unit strings not yet sent as literals
		dictSize  = 3
		numBits   = 2
		enlargeIn = 2
	)
	wCode, wLen := 0, 0 // current phrase: its code and length (0 = empty)

	grow := func() {
		enlargeIn--
		if enlargeIn == 0 {
			enlargeIn = 1 << numBits
			numBits++
		}
	}
	// emit writes the current phrase, as a literal the first time a
	// one-unit phrase is used, otherwise as its dictionary code.
	emit := func(first uint16) {
		if _, ok := pending[first]; ok && wLen == 1 {
			if first < 256 {
				w.write(0, numBits)
				w.write(int(first), 8)
			} else {
				w.write(1, numBits)
				w.write(int(first), 16)
			}
			grow()
			delete(pending, first)
		} else {
			w.write(wCode, numBits)
		}
		grow()
	}

	for i, c := range units {
		if _, ok := single[c]; !ok {
			single[c] = dictSize
			dictSize++
			pending[c] = struct{}{}
		}
		if wLen == 0 {
			wCode, wLen = single[c], 1
			continue
		}
		key := uint64(wCode)<<16 | uint64(c)
		if code, ok := longer[key]; ok {
			wCode, wLen = code, wLen+1
			continue
		}
		emit(units[i-wLen])
		// The library keeps its dictionary in a plain JavaScript object, where
		// assigning the key "__proto__" does not create an entry; the code
		// number is used up all the same. Mirror that to stay byte-identical.
		if !(wLen == 8 && isProto(units[i-8:i+1])) {
			longer[key] = dictSize
		}
		dictSize++
		wCode, wLen = single[c], 1
	}
	if wLen > 0 {
		emit(units[len(units)-wLen])
	}
	w.write(2, numBits)
	w.finish()

	switch len(w.out) % 4 {
	case 1:
		w.out = append(w.out, "==="...)
	case 2:
		w.out = append(w.out, "=="...)
	case 3:
		w.out = append(w.out, '=')
	}
	return string(w.out)
}

func isProto(u []uint16) bool {
	const p = "__proto__"
	if len(u) != len(p) {
		return false
	}
	for i := range u {
		if u[i] != uint16(p[i]) {
			return false
		}
	}
	return true
}

// toUTF16 converts a Go string to UTF-16 code units.
func toUTF16(s string) []uint16 {
	out := make([]uint16, 0, len(s))
	for _, r := range s {
		if r >= 0x10000 && r <= utf8.MaxRune {
			r1, r2 := utf16.EncodeRune(r)
			out = append(out, uint16(r1), uint16(r2))
			continue
		}
		out = append(out, uint16(r))
	}
	return out
}
