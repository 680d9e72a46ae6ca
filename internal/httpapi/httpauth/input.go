package httpauth

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Every text a client sends is checked once, where it is decoded: JSON
// bodies (decodeJSON), form bodies (parseFormBody), and the query string
// and path (checkRequestText, before routing). Text must be valid UTF-8
// without NUL characters: PostgreSQL stores neither, and no name, email,
// password, token or id needs them. The answer names the field:
// 400 {"type": "validation_error", "code": "invalid_input", "attr": <field>}.

// cleanText reports whether s is valid UTF-8 without NUL.
func cleanText(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// errBadText is the refusal of a field that is not clean text.
func errBadText(field string) error {
	return gatehouse.Invalid("invalid_input", printableField(field), "This field contains invalid characters (NUL or invalid UTF-8).")
}

// printableField is a field name fit to echo in attr: its invalid bytes
// and NULs replaced.
func printableField(s string) string {
	if cleanText(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// checkFormText refuses the first (by name) form field whose name or a
// value is not clean text.
func checkFormText(form url.Values) error {
	var bad []string
	for name, values := range form {
		ok := cleanText(name)
		for _, v := range values {
			ok = ok && cleanText(v)
		}
		if !ok {
			bad = append(bad, name)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return errBadText(bad[0])
}

// checkJSONText refuses a JSON document with a string (key or value) that
// is not clean text: raw invalid UTF-8 bytes, or a \u0000 escape. attr is
// the path of the field, nested keys and array indexes joined by "__" as
// PostHog names nested fields. data must be valid JSON.
func CheckJSONText(data []byte) error {
	if utf8.Valid(data) && !bytes.Contains(data, []byte(`\u0000`)) {
		return nil // the common case: nothing to look for
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	// Each open container: its path, whether it is an object, whether the
	// next string in it is a key, and the next array index.
	type level struct {
		path   string
		object bool
		isKey  bool
		index  int
	}
	var stack []level
	key := ""
	start := int64(0)
	child := func(name string) string {
		if len(stack) == 0 || stack[len(stack)-1].path == "" {
			return name
		}
		return stack[len(stack)-1].path + "__" + name
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return nil // not JSON: the decoder reports it
		}
		end := dec.InputOffset()
		raw := data[start:end]
		start = end
		var top *level
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		// The path of this token as a value (not for keys or closers).
		here := ""
		if top != nil && !top.object {
			here = child(strconv.Itoa(top.index))
		} else if top != nil {
			here = child(key)
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && !top.object {
					top.index++
				}
				if top != nil && top.object {
					top.isKey = true
				}
				stack = append(stack, level{path: here, object: t == '{', isKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
			continue
		case string:
			bad := !utf8.Valid(raw) || strings.IndexByte(t, 0) >= 0
			if top != nil && top.object && top.isKey {
				top.isKey = false
				key = t
				if bad {
					return errBadText(child(t))
				}
				continue
			}
			if bad {
				return errBadText(here)
			}
		}
		if top != nil && top.object {
			top.isKey = true
		} else if top != nil {
			top.index++
		}
	}
}

// checkRequestText refuses a request whose path or query string carries a
// NUL or invalid UTF-8 (escaped as %00 or %FF), before any handler passes
// it to the database. attr names the query parameter, or the path
// wildcard of the route the path matches ("path" when there is none).
// The User-Agent, which sessions record, has its invalid bytes replaced
// (net/http already refuses NUL in headers).
func CheckRequestText(mux *http.ServeMux, next http.Handler) http.Handler {
	return Handler(func(w http.ResponseWriter, r *http.Request) error {
		if ua := r.Header.Get("User-Agent"); !utf8.ValidString(ua) {
			r.Header.Set("User-Agent", strings.ToValidUTF8(ua, "\uFFFD"))
		}
		if !cleanText(r.URL.Path) {
			return errBadText(pathField(mux, r))
		}
		if q := r.URL.RawQuery; q != "" && !(strings.IndexByte(q, '%') < 0 && cleanText(q)) {
			values, _ := url.ParseQuery(q)
			if err := checkFormText(values); err != nil {
				return err
			}
		}
		next.ServeHTTP(w, r)
		return nil
	})
}

// pathField is the name of the route wildcard that holds the first
// unclean segment of r's path.
func pathField(mux *http.ServeMux, r *http.Request) string {
	_, pattern := mux.Handler(r)
	if _, p, ok := strings.Cut(pattern, " "); ok {
		pattern = p
	}
	segments := strings.Split(r.URL.Path, "/")
	wild := strings.Split(strings.TrimSuffix(pattern, "/"), "/")
	for i, s := range segments {
		if cleanText(s) {
			continue
		}
		if n := len(wild); i >= n && n > 0 && strings.HasSuffix(wild[n-1], "...}") {
			i = n - 1 // inside a {name...} remainder
		}
		if i < len(wild) && strings.HasPrefix(wild[i], "{") {
			return strings.TrimSuffix(strings.Trim(wild[i], "{}"), "...")
		}
		break
	}
	return "path"
}
