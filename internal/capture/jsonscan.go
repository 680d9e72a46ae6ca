package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// A minimal scanner over JSON text that has already passed validJSON. It
// walks the members of objects and the elements of arrays without building
// values, so that only the handful of fields capture cares about are ever
// decoded, and keys are matched exactly (encoding/json would match them
// case-insensitively, which PostHog does not). It still checks its bounds on
// every step and reports errMalformed instead of panicking if the text is not
// what it expects.

var errMalformed = errors.New("malformed JSON")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// trimSpace drops JSON whitespace at both ends.
func trimSpace(b []byte) []byte {
	i := skipSpace(b, 0)
	j := len(b)
	for j > i && isSpace(b[j-1]) {
		j--
	}
	return b[i:j]
}

// structural marks the bytes that matter when skipping over a container.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// valueEnd returns the index just past the value that starts at b[i].
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errMalformed
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			c := b[i]
			if !structural[c] {
				i++
				continue
			}
			switch c {
			case '"':
				e, err := stringEnd(b, i)
				if err != nil {
					return 0, err
				}
				i = e
				continue
			case '{', '[':
				depth++
			default: // '}', ']'
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errMalformed
	default:
		j := i
		for j < len(b) {
			c := b[j]
			if c == ',' || c == '}' || c == ']' || isSpace(c) {
				break
			}
			j++
		}
		if j == i {
			return 0, errMalformed
		}
		return j, nil
	}
}

// stringEnd returns the index just past the string literal starting at b[i].
func stringEnd(b []byte, i int) (int, error) {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '"':
			return i + 1, nil
		case '\\':
			i++ // skip the escaped character
		}
	}
	return 0, errMalformed
}

// walkObject walks the members of the object that starts at b[i]. For each it
// calls fn with the raw key (quotes included) and the index where the value
// starts; fn returns the index just past the value (using valueEnd if it does
// not walk the value itself). walkObject returns the index just past the
// object.
func walkObject(b []byte, i int, fn func(key []byte, v int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, errMalformed
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, errMalformed
		}
		ke, err := stringEnd(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i:ke]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return 0, errMalformed
		}
		i = skipSpace(b, i+1)
		if i >= len(b) {
			return 0, errMalformed
		}
		ve, err := fn(key, i)
		if err != nil {
			return 0, err
		}
		if ve <= i || ve > len(b) {
			return 0, errMalformed
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return 0, errMalformed
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return i + 1, nil
		default:
			return 0, errMalformed
		}
	}
}

// walkArray is walkObject for arrays: fn gets the index where each element
// starts and returns the index just past it.
func walkArray(b []byte, i int, fn func(v int) (int, error)) (int, error) {
	if i >= len(b) || b[i] != '[' {
		return 0, errMalformed
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		if i >= len(b) {
			return 0, errMalformed
		}
		ve, err := fn(i)
		if err != nil {
			return 0, err
		}
		if ve <= i || ve > len(b) {
			return 0, errMalformed
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return 0, errMalformed
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case ']':
			return i + 1, nil
		default:
			return 0, errMalformed
		}
	}
}

// eachMember calls fn for every member of the object b with the raw key,
// quotes included, and the raw value. A false return from fn stops the walk.
func eachMember(b []byte, fn func(key, val []byte) bool) error {
	stop := errors.New("stop")
	_, err := walkObject(b, skipSpace(b, 0), func(k []byte, v int) (int, error) {
		e, err := valueEnd(b, v)
		if err != nil {
			return 0, err
		}
		if !fn(k, b[v:e:e]) {
			return 0, stop
		}
		return e, nil
	})
	if err == stop {
		return nil
	}
	return err
}

// keyName returns the key without its quotes, unescaped if need be.
func keyName(raw []byte) []byte {
	if len(raw) < 2 {
		return nil
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return nil
	}
	return []byte(s)
}

// keyIs reports whether the raw (quoted) key equals name once unescaped.
func keyIs(raw []byte, name string) bool {
	if len(raw) < 2 {
		return false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == name
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return false
	}
	return s == name
}

// jsonString decodes a raw JSON string literal.
func jsonString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func isNull(raw []byte) bool { return len(raw) == 4 && string(raw) == "null" }

// fixLoneSurrogates rewrites \uXXXX escapes that denote an unpaired UTF-16
// surrogate as \ufffd (same length), so the event stays storable in databases
// that reject them (PostgreSQL jsonb does). Text without such escapes is
// returned unchanged and uncopied.
func fixLoneSurrogates(b []byte) []byte {
	var out []byte // copy made on first change
	for i := 0; i < len(b); {
		k := bytes.IndexByte(b[i:], '\\')
		if k < 0 {
			break
		}
		i += k
		if i+1 >= len(b) {
			break
		}
		if b[i+1] != 'u' {
			i += 2
			continue
		}
		u, ok := hex4(b, i+2)
		if !ok {
			i += 2
			continue
		}
		switch {
		case u >= 0xD800 && u < 0xDC00:
			// a high surrogate must be followed by an escaped low one
			if i+11 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
				if lo, ok := hex4(b, i+8); ok && lo >= 0xDC00 && lo < 0xE000 {
					i += 12
					continue
				}
			}
		case u >= 0xDC00 && u < 0xE000:
			// a low surrogate on its own
		default:
			i += 6
			continue
		}
		if out == nil {
			out = append([]byte(nil), b...)
		}
		copy(out[i+2:i+6], "fffd")
		i += 6
	}
	if out == nil {
		return b
	}
	return out
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var v rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
