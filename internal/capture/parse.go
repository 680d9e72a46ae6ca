package capture

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
)

// parseBatch turns the decoded payload into a Batch: it recognises the three
// shapes, extracts and checks each event's fields and settles the token.
func parseBatch(data []byte, ep Endpoint) (*Batch, *Error) {
	data = trimSpace(data)
	if !validJSON(data) {
		var v json.RawMessage
		err := json.Unmarshal(data, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, parseError(err.Error())
	}
	if len(data) == 0 {
		return nil, decodeError("empty request payload")
	}

	batch := &Batch{}
	var (
		fields     []*eventFields
		batchToken []byte // raw batch-level token, nil if none
	)
	// scanInto scans the event starting at data[v] and appends it.
	scanInto := func(v int) (int, error) {
		f, end, e := scanEvent(data, v)
		if e != nil {
			return 0, e
		}
		fields = append(fields, f)
		return end, nil
	}
	switch data[0] {
	case '[':
		if _, err := walkArray(data, 0, scanInto); err != nil {
			return nil, asParseError(err)
		}
	case '{':
		var sentAt, historical, tok, apiKey []byte
		isBatch := false
		if _, err := walkObject(data, 0, func(k []byte, v int) (int, error) {
			if string(keyName(k)) == "batch" && data[v] != 'n' {
				if data[v] != '[' {
					return 0, parseError("batch must be an array")
				}
				isBatch = true
				fields = fields[:0] // a repeated key: the last one wins
				return walkArray(data, v, scanInto)
			}
			e, err := valueEnd(data, v)
			if err != nil {
				return 0, err
			}
			switch string(keyName(k)) {
			case "api_key":
				apiKey = data[v:e]
			case "token":
				tok = data[v:e]
			case "sent_at":
				sentAt = data[v:e]
			case "historical_migration":
				historical = data[v:e]
			}
			return e, nil
		}); err != nil {
			return nil, asParseError(err)
		}
		if !isBatch { // a single event
			f, _, e := scanEvent(data, 0)
			if e != nil {
				return nil, e
			}
			fields = []*eventFields{f}
			break
		}
		switch {
		case tok != nil && !isNull(tok):
			batchToken = tok
		case apiKey != nil && !isNull(apiKey):
			batchToken = apiKey
		}
		if s, ok := jsonString(sentAt); ok {
			batch.SentAt = s
		}
		batch.Historical = string(historical) == "true"
	default:
		return nil, parseError("expected a JSON array or object")
	}
	if len(fields) == 0 {
		return nil, badRequest(msgEmptyBatch)
	}

	batch.Events = make([]Event, len(fields))
	var (
		late       *Error // first event-name / distinct_id problem, reported after the token
		eventToken string
		haveToken  bool
		tokenErr   *Error
	)
	for i, f := range fields {
		ev := &batch.Events[i]
		if e := f.fill(ev, ep); e != nil {
			return nil, e
		}
		if late == nil {
			late = f.validate(ev)
		}
		if batchToken == nil && tokenErr == nil {
			t, present, e := f.ownToken()
			switch {
			case e != nil:
				tokenErr = e
			case !present:
			case !haveToken:
				eventToken, haveToken = t, true
			case t != eventToken:
				tokenErr = tokenError(msgMultipleTokens)
			}
		}
	}

	if batchToken != nil {
		s, ok := jsonString(batchToken)
		if !ok {
			return nil, invalidToken("not_string")
		}
		eventToken, haveToken = strings.TrimSpace(s), true
	} else if tokenErr != nil {
		return nil, tokenErr
	}
	if !haveToken {
		return nil, tokenError(msgNoToken)
	}
	if reason := tokenProblem(eventToken); reason != "" {
		return nil, invalidToken(reason)
	}
	batch.Token = eventToken
	if late != nil {
		return nil, late
	}
	return batch, nil
}

// tokenProblem returns a short reason why t is not a well-formed project
// token, or "".
func tokenProblem(t string) string {
	switch {
	case t == "":
		return "empty"
	case len(t) > 128:
		return "too_long"
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "invalid_characters"
		}
	}
	if strings.HasPrefix(t, "phx_") {
		return "personal_api_key" // a personal API key, never a project token
	}
	return ""
}

// eventFields holds the raw values of the members capture looks at; nil when
// absent. Where a key repeats, the last one wins, as in JavaScript.
type eventFields struct {
	raw                                 []byte
	event, distinctID, dollarDistinctID []byte
	token, dollarToken, apiKey          []byte
	uuid, timestamp, properties         []byte
	propDistinctID, propToken           []byte
	nameMissing                         bool
}

// scanEvent scans the event object starting at b[i] in one pass, including
// its properties, and returns its fields and the index just past it.
func scanEvent(b []byte, i int) (*eventFields, int, *Error) {
	if b[i] != '{' {
		return nil, 0, parseError("each event must be a JSON object")
	}
	f := &eventFields{}
	end, err := walkObject(b, i, func(k []byte, v int) (int, error) {
		if string(keyName(k)) == "properties" && b[v] == '{' {
			f.propDistinctID, f.propToken = nil, nil
			e, err := walkObject(b, v, func(pk []byte, pv int) (int, error) {
				pe, err := valueEnd(b, pv)
				if err != nil {
					return 0, err
				}
				switch string(keyName(pk)) {
				case "distinct_id":
					f.propDistinctID = b[pv:pe]
				case "token":
					f.propToken = b[pv:pe]
				}
				return pe, nil
			})
			if err != nil {
				return 0, err
			}
			f.properties = b[v:e]
			return e, nil
		}
		e, err := valueEnd(b, v)
		if err != nil {
			return 0, err
		}
		val := b[v:e]
		switch string(keyName(k)) {
		case "event":
			f.event = val
		case "distinct_id":
			f.distinctID = val
		case "$distinct_id":
			f.dollarDistinctID = val
		case "properties":
			f.properties = val // not an object: rejected below
			f.propDistinctID, f.propToken = nil, nil
		case "token":
			f.token = val
		case "$token":
			f.dollarToken = val
		case "api_key":
			f.apiKey = val
		case "uuid":
			f.uuid = val
		case "timestamp":
			f.timestamp = val
		}
		return e, nil
	})
	if err != nil {
		return nil, 0, asParseError(err)
	}
	f.raw = b[i:end:end]
	if f.properties != nil && !isNull(f.properties) && f.properties[0] != '{' {
		return nil, 0, parseError("event properties must be an object")
	}
	return f, end, nil
}

// asParseError passes an *Error through and wraps anything else.
func asParseError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return parseError(err.Error())
}

// fill sets the event's fields; type errors here are parse errors (400),
// reported before any token problem.
func (f *eventFields) fill(ev *Event, ep Endpoint) *Error {
	switch {
	case f.event == nil || isNull(f.event):
		f.nameMissing = true
	default:
		s, ok := jsonString(f.event)
		if !ok {
			return parseError("event name must be a string")
		}
		ev.Name = withoutNUL(s)
		f.nameMissing = s == ""
	}

	if f.uuid != nil && !isNull(f.uuid) {
		s, ok := jsonString(f.uuid)
		if !ok {
			return parseError("uuid must be a string")
		}
		if s != "" {
			u, ok := canonicalUUID(s)
			if !ok {
				return parseError("invalid uuid")
			}
			ev.UUID = u
		}
	}

	if f.timestamp != nil && !isNull(f.timestamp) {
		s, ok := jsonString(f.timestamp)
		if !ok {
			return parseError("timestamp must be a string")
		}
		ev.Timestamp = withoutNUL(s)
	}

	ev.Raw = fixLoneSurrogates(f.raw)
	if ep == EndpointEngage && f.nameMissing {
		ev.Name = "$identify"
		ev.Raw = withEventName(ev.Raw, "$identify")
		f.nameMissing = false
	}
	return nil
}

// withoutNUL replaces NUL characters ("\u0000" in the JSON) with U+FFFD in
// a decoded field stored as a column of its own. PostgreSQL's text cannot
// hold NUL: one such event would fail the transaction it shares with other
// requests' events (which are then written one by one) and be refused on
// every retry. The properties are stored as the JSON text, escapes and
// all, and keep it.
func withoutNUL(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// validate checks the event name and distinct_id, which PostHog reports only
// once the token is settled.
func (f *eventFields) validate(ev *Event) *Error {
	if f.nameMissing {
		return badRequest(msgMissingName)
	}
	v := f.distinctID
	if v == nil || isNull(v) {
		v = f.dollarDistinctID
	}
	if v == nil || isNull(v) {
		v = f.propDistinctID
	}
	if v == nil || isNull(v) {
		return badRequest(msgMissingDistinct)
	}
	switch c := v[0]; {
	case c == '"':
		s, ok := jsonString(v)
		if !ok {
			return badRequest(msgMissingDistinct)
		}
		if s == "" {
			return badRequest("event submitted with an empty distinct_id")
		}
		ev.DistinctID = withoutNUL(s)
	case c == '-' || c >= '0' && c <= '9':
		ev.DistinctID = string(v)
	default:
		return badRequest("distinct_id must be a string or a number")
	}
	return nil
}

// ownToken returns the event's own token: token, $token or api_key at the top
// level, else properties.token. present is false when there is none.
func (f *eventFields) ownToken() (tok string, present bool, e *Error) {
	var v []byte
	for _, c := range [][]byte{f.token, f.dollarToken, f.apiKey} {
		if c != nil && !isNull(c) {
			v = c
			break
		}
	}
	if v == nil {
		if f.propToken == nil || f.propToken[0] != '"' {
			return "", false, nil // like PostHog, only a string counts here
		}
		v = f.propToken
	}
	s, ok := jsonString(v)
	if !ok {
		return "", false, invalidToken("not_string")
	}
	return strings.TrimSpace(s), true, nil
}

// withEventName rebuilds the event object with "event" set to name, dropping
// any existing event member (null or "").
func withEventName(raw []byte, name string) []byte {
	nameJSON, _ := json.Marshal(name)
	var b bytes.Buffer
	b.Grow(len(raw) + len(nameJSON) + 10)
	b.WriteString(`{"event":`)
	b.Write(nameJSON)
	_ = eachMember(raw, func(k, v []byte) bool {
		if keyIs(k, "event") {
			return true
		}
		b.WriteByte(',')
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
		return true
	})
	b.WriteByte('}')
	return b.Bytes()
}

// canonicalUUID accepts the 8-4-4-4-12 hex form, any version, any case, and
// returns it in lower case.
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	var out [36]byte
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return "", false
			}
		default:
			switch {
			case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
			case c >= 'A' && c <= 'F':
				c += 'a' - 'A'
			default:
				return "", false
			}
		}
		out[i] = c
	}
	return string(out[:]), true
}
