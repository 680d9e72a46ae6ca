// Package capture decodes requests to PostHog's event-capture endpoints (/e,
// /i/v0/e, /capture, /track, /engage and /batch) into validated batches of
// events, following the behaviour of PostHog's Rust capture service: payloads
// in the body, in a form field or in the query string; gzip, lz-string and
// base64 encodings; the array, batch and single-event shapes; and the token,
// distinct_id, event-name and uuid rules. Looking the token up, answering the
// request and storing the events are left to the caller.
package capture

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Endpoint says which capture path a request came to; it selects size limits and rules.
type Endpoint int

const (
	// EndpointEvent is /e, /i/v0/e, /capture and /track.
	EndpointEvent Endpoint = iota
	// EndpointEngage is /engage: events without a name become $identify.
	EndpointEngage
	// EndpointBatch is /batch and posthog-node's AI lane /i/v0/ai/batch,
	// with the larger body limit.
	EndpointBatch
)

const (
	eventMaxBody = 2 * 1024 * 1024
	batchMaxBody = 20 * 1024 * 1024
)

// EndpointFor maps a request path (with or without trailing slash) to its Endpoint; ok=false for non-capture paths.
func EndpointFor(path string) (Endpoint, bool) {
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	switch path {
	case "/e", "/i/v0/e", "/capture", "/track":
		return EndpointEvent, true
	case "/engage":
		return EndpointEngage, true
	case "/batch", "/i/v0/ai/batch":
		return EndpointBatch, true
	}
	return 0, false
}

// MaxBody is the limit for the endpoint: 2 MiB (2*1024*1024) for events/engage, 20 MiB for /batch.
// It applies both to the body as received and to the payload once decompressed.
func (e Endpoint) MaxBody() int64 {
	if e == EndpointBatch {
		return batchMaxBody
	}
	return eventMaxBody
}

// String returns the endpoint's canonical path.
func (e Endpoint) String() string {
	switch e {
	case EndpointEvent:
		return "/e"
	case EndpointEngage:
		return "/engage"
	case EndpointBatch:
		return "/batch"
	}
	return "Endpoint(" + strconv.Itoa(int(e)) + ")"
}

// Event is one decoded, validated event.
type Event struct {
	UUID       string          // lower-case canonical, or "" if the client sent none
	Name       string          // event name ($identify filled for /engage)
	DistinctID string          // from distinct_id, $distinct_id or properties.distinct_id; numbers as their JSON text
	Timestamp  string          // raw, may be ""
	Raw        json.RawMessage // the event object as JSON, as sent (see Decode for the two rewrites)
}

// Batch is a decoded request.
type Batch struct {
	Token      string  // the project token (api_key), trimmed and well-formed but not yet looked up
	Events     []Event // at least one
	SentAt     string  // batch-level sent_at or ""
	Historical bool    // batch-level historical_migration
	// ClientSentMillis is the query parameter "_" that posthog-js adds: the
	// client's clock at send time in milliseconds since the Unix epoch; 0 when
	// absent or not an integer. Informational, like SentAt.
	ClientSentMillis int64
}

// Error is a decode failure with the HTTP status and plain-text message to answer with.
type Error struct {
	Status  int    // 400, 401 or 413
	Message string // short, plain text, safe to send to the client
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// Plain-text messages, worded as PostHog's capture service words them.
const (
	msgNoToken         = "event submitted without an api_key"
	msgMultipleTokens  = "batch submitted with inconsistent api_key values"
	msgInvalidTokenFmt = "API key is not valid: %s"
	msgEmptyBatch      = "request holds no event"
	msgMissingName     = "event submitted with an empty event name"
	msgMissingDistinct = "event submitted without a distinct_id"
)

func badRequest(msg string) *Error { return &Error{Status: http.StatusBadRequest, Message: msg} }

func decodeError(detail string) *Error {
	return badRequest("failed to decode request: " + detail)
}

func parseError(detail string) *Error {
	return badRequest("failed to parse request: " + clip(detail, 100))
}

func tooLarge(what string, limit int64) *Error {
	return &Error{
		Status:  http.StatusRequestEntityTooLarge,
		Message: fmt.Sprintf("%s exceeds the %d byte limit", what, limit),
	}
}

func tokenError(msg string) *Error { return &Error{Status: http.StatusUnauthorized, Message: msg} }

func invalidToken(reason string) *Error { return tokenError(fmt.Sprintf(msgInvalidTokenFmt, reason)) }

// clip shortens s to at most n bytes without splitting a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// Decode reads and decodes the request body/query according to the rules. It must not panic on any input.
//
// The payload is taken from the query parameter "data" on GET, from the form
// field "data" on a POST with Content-Type application/x-www-form-urlencoded,
// and from the body otherwise. It is decompressed according to the
// "compression" query parameter (or form field, or Content-Encoding header):
// gzip/gzip-js, lz64/lz-string or base64/b64; gzip is also recognised by its
// magic bytes. A payload that is still base64 text rather than JSON is
// unwrapped (twice at most, once on /batch). Both the body and the
// decompressed payload are limited to ep.MaxBody().
//
// Raw is the event object exactly as sent except that on /engage an event
// without a name gets "event":"$identify", and that \u escapes of unpaired
// UTF-16 surrogates are replaced by \ufffd.
//
// Every error is an *Error: 400 for undecodable or invalid payloads, 401 for a
// missing, inconsistent or malformed token, 413 for payloads over the limit.
// Token problems are reported before missing event names and distinct_ids.
func Decode(r *http.Request, ep Endpoint) (b *Batch, err error) {
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, decodeError("malformed request")
		}
	}()
	if r == nil {
		return nil, decodeError("no request")
	}
	limit := ep.MaxBody()
	raw, comp, clientMillis, e := extractPayload(r, limit)
	if e != nil {
		return nil, e
	}
	data, e := decodePayload(raw, comp, ep, limit)
	if e != nil {
		return nil, e
	}
	batch, e := parseBatch(data, ep)
	if e != nil {
		return nil, e
	}
	batch.ClientSentMillis = clientMillis
	return batch, nil
}
