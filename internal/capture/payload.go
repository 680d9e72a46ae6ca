package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// compression is the encoding a client says its payload has.
type compression int

const (
	compNone compression = iota
	compGzip
	compLZ
	compBase64
)

// parseCompression maps the values PostHog SDKs send; anything else is none.
func parseCompression(v string) compression {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "gzip", "gzip-js":
		return compGzip
	case "lz64", "lz-string":
		return compLZ
	case "base64", "b64":
		return compBase64
	}
	return compNone
}

const formMIME = "application/x-www-form-urlencoded"

func isForm(contentType string) bool {
	if contentType == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	}
	return mt == formMIME
}

// extractPayload finds the payload bytes, the compression hint and the
// query parameter "_".
func extractPayload(r *http.Request, limit int64) ([]byte, compression, int64, *Error) {
	var q url.Values
	if r.URL != nil {
		q = r.URL.Query()
	}
	comp := parseCompression(q.Get("compression"))
	var clientMillis int64
	if v := q.Get("_"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 0 {
			clientMillis = n
		}
	}

	body, e := readBody(r, limit)
	if e != nil {
		return nil, 0, 0, e
	}

	var payload []byte
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		if d := q.Get("data"); d != "" {
			payload = []byte(d)
		} else {
			payload = body
		}
	case isForm(r.Header.Get("Content-Type")):
		form, _ := url.ParseQuery(string(body)) // pairs that fail to decode are skipped
		if d, ok := form["data"]; ok && len(d) > 0 {
			payload = []byte(d[0])
			if comp == compNone {
				comp = parseCompression(form.Get("compression"))
			}
		} else {
			payload = body
		}
	default:
		payload = body
	}
	if len(payload) == 0 {
		// Some clients put the payload in the query string of a POST.
		if d := q.Get("data"); d != "" {
			payload = []byte(d)
		}
	}
	if comp == compNone {
		comp = parseCompression(r.Header.Get("Content-Encoding"))
	}
	if len(bytes.TrimSpace(payload)) == 0 {
		return nil, 0, 0, decodeError("empty request payload")
	}
	if int64(len(payload)) > limit {
		return nil, 0, 0, tooLarge("request payload", limit)
	}
	return payload, comp, clientMillis, nil
}

// readBody reads at most limit bytes of the body; more is a 413.
func readBody(r *http.Request, limit int64) ([]byte, *Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > limit {
		return nil, tooLarge("request body", limit)
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 {
		buf.Grow(int(r.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if int64(buf.Len()) > limit {
		return nil, tooLarge("request body", limit)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge("request body", limit)
		}
		return nil, decodeError("could not read the request body")
	}
	return buf.Bytes(), nil
}

var gzipMagic = []byte{0x1f, 0x8b, 0x08}

func hasGzipMagic(p []byte) bool { return bytes.HasPrefix(p, gzipMagic) }

// decodePayload undoes compression and base64 wrapping and checks the result
// is within the limit and valid UTF-8.
func decodePayload(p []byte, comp compression, ep Endpoint, limit int64) ([]byte, *Error) {
	var e *Error
	switch {
	case hasGzipMagic(p):
		p, e = gunzip(p, limit)
	case comp == compGzip:
		// Tolerate gzip that was additionally base64-encoded.
		if looksBase64(p) {
			if d, ok := decodeBase64(p); ok && hasGzipMagic(d) {
				p = d
			}
		}
		p, e = gunzip(p, limit)
	case comp == compLZ:
		p, e = lzDecode(p, limit)
	case comp == compBase64:
		d, ok := decodeBase64(p)
		if !ok {
			return nil, decodeError("invalid base64 data")
		}
		p = d
		if hasGzipMagic(p) {
			p, e = gunzip(p, limit)
		}
	}
	if e != nil {
		return nil, e
	}

	// Legacy clients send base64-encoded JSON (in data= or as the whole body).
	if !looksJSON(p) && looksBase64(p) {
		if d, ok := decodeBase64(p); ok {
			p = d
			if hasGzipMagic(p) {
				if p, e = gunzip(p, limit); e != nil {
					return nil, e
				}
			}
		}
	}
	// The legacy endpoints unwrap once more.
	if ep != EndpointBatch && !looksJSON(p) && looksBase64(p) {
		if d, ok := decodeBase64(p); ok {
			p = d
		}
	}

	if int64(len(p)) > limit {
		return nil, tooLarge("decompressed payload", limit)
	}
	p = bytes.TrimPrefix(p, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	if !utf8.Valid(p) {
		return nil, decodeError("invalid UTF-8 in request payload")
	}
	return p, nil
}

// gunzip inflates one gzip member, reading at most limit+1 bytes of output.
func gunzip(p []byte, limit int64) ([]byte, *Error) {
	zr, err := gzip.NewReader(bytes.NewReader(p))
	if err != nil {
		return nil, decodeError("invalid gzip data")
	}
	zr.Multistream(false)
	var buf bytes.Buffer
	// The trailer's size field is a hint only: bound it by the limit and by
	// a generous ratio to the compressed size.
	if len(p) >= 4 {
		hint := int64(binary.LittleEndian.Uint32(p[len(p)-4:]))
		hint = min(hint, limit+1, int64(len(p))*64+4096)
		buf.Grow(int(hint))
	}
	_, err = buf.ReadFrom(io.LimitReader(zr, limit+1))
	if int64(buf.Len()) > limit {
		return nil, tooLarge("decompressed payload", limit)
	}
	if err != nil {
		return nil, decodeError("invalid gzip data")
	}
	return buf.Bytes(), nil
}

// lzDecode decompresses lz-string base64 text.
func lzDecode(p []byte, limit int64) ([]byte, *Error) {
	// Form decoding turns '+' into ' '; line breaks carry no data.
	s := strings.Map(func(r rune) rune {
		switch r {
		case ' ':
			return '+'
		case '\r', '\n', '\t':
			return -1
		}
		return r
	}, string(p))
	units, err := lzDecompress(s, int(min(limit, int64(^uint(0)>>1))))
	if errors.Is(err, errLZTooLarge) {
		return nil, tooLarge("decompressed payload", limit)
	}
	if err != nil {
		return nil, decodeError("invalid lz64 data")
	}
	out := utf16ToUTF8(units)
	if int64(len(out)) > limit {
		return nil, tooLarge("decompressed payload", limit)
	}
	return out, nil
}

// utf16ToUTF8 converts UTF-16 code units to UTF-8, joining surrogate pairs and
// replacing unpaired surrogates with U+FFFD.
func utf16ToUTF8(u []uint16) []byte {
	out := make([]byte, 0, len(u)+len(u)/4)
	for i := 0; i < len(u); i++ {
		r := rune(u[i])
		if utf16.IsSurrogate(r) {
			if i+1 < len(u) {
				if pr := utf16.DecodeRune(r, rune(u[i+1])); pr != utf8.RuneError {
					out = utf8.AppendRune(out, pr)
					i++
					continue
				}
			}
			r = utf8.RuneError
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

// looksJSON reports whether p starts, after whitespace, like a JSON object or
// array.
func looksJSON(p []byte) bool {
	p = bytes.TrimPrefix(trimSpace(p), []byte("\xef\xbb\xbf"))
	return len(p) > 0 && (p[0] == '{' || p[0] == '[')
}

// looksBase64 is a cheap test of the first bytes; decodeBase64 decides.
func looksBase64(p []byte) bool {
	p = trimSpace(p)
	if len(p) < 4 {
		return false
	}
	for _, c := range p[:min(len(p), 128)] {
		if !isBase64Char(c) {
			return false
		}
	}
	return true
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '+' || c == '/' || c == '-' || c == '_' || c == '=' || c == ' ' ||
		c == '\r' || c == '\n' || c == '\t'
}

// decodeBase64 accepts the standard and URL alphabets, with or without
// padding, with line breaks, and with '+' turned into ' ' by form decoding.
func decodeBase64(p []byte) ([]byte, bool) {
	p = trimSpace(p)
	clean := make([]byte, 0, len(p))
	for _, c := range p {
		switch c {
		case '\r', '\n', '\t':
			continue
		case ' ', '-':
			c = '+'
		case '_':
			c = '/'
		}
		clean = append(clean, c)
	}
	clean = bytes.TrimRight(clean, "=")
	if len(clean) == 0 || len(clean)%4 == 1 {
		return nil, false
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(clean)))
	n, err := base64.RawStdEncoding.Decode(out, clean)
	if err != nil {
		return nil, false
	}
	return out[:n], true
}
