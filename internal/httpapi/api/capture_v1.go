package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/capture"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// maxV1CaptureBody bounds a /i/v1/analytics/events body, compressed and
// decompressed, as /batch is bounded.
const maxV1CaptureBody = 20 * 1024 * 1024

// v1Event is one event of a v1 capture batch. Only the fields Gatehouse
// indexes are named; the whole object is stored as sent.
type v1Event struct {
	UUID       string          `json:"uuid"`
	Event      string          `json:"event"`
	DistinctID json.RawMessage `json:"distinct_id"`
	Timestamp  string          `json:"timestamp"`
	Properties json.RawMessage `json:"properties"`
}

// v1Error is the error body of the v1 capture API.
func v1Error(w http.ResponseWriter, status int, tag, description string) {
	httpauth.WriteJSON(w, status, map[string]any{"error": tag, "error_description": description, "error_uri": nil})
}

// IngestV1 serves POST /i/v1/analytics/events, the capture API
// posthog-node uses in its v1 mode: the project token comes as
// "Authorization: Bearer phc_…", the body is {"created_at", "batch": [...]}
// (gzip allowed), and a 200 lists every event's result once all of them
// are durable. Errors are {"error", "error_description", "error_uri"},
// written here (it returns nil).
func (h *Capture) IngestV1(w http.ResponseWriter, r *http.Request) error {
	captureCORS(w, r)
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusOK)
		return nil
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		v1Error(w, http.StatusMethodNotAllowed, "method_not_allowed", "Only POST is accepted.")
		return nil
	}
	token, ok := httpauth.BearerToken(r)
	if !ok || token == "" {
		v1Error(w, http.StatusUnauthorized, "invalid_api_token", "The Authorization header must carry the project token as a Bearer credential.")
		return nil
	}
	if r.Header.Get("Content-Encoding") == "gzip" {
		// DecodeBody recognises gzip by its magic bytes.
		r.Header.Del("Content-Encoding")
	}
	payload, err := capture.DecodeBody(r, maxV1CaptureBody)
	if err != nil {
		var ce *capture.Error
		if errors.As(err, &ce) && ce.Status == http.StatusRequestEntityTooLarge {
			v1Error(w, http.StatusRequestEntityTooLarge, "payload_too_large", "The request body is too large.")
			return nil
		}
		v1Error(w, http.StatusBadRequest, "invalid_body", "The request body could not be decoded.")
		return nil
	}
	var body struct {
		Batch []json.RawMessage `json:"batch"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		v1Error(w, http.StatusBadRequest, "invalid_body", "The request body must be a JSON object with a batch list.")
		return nil
	}
	if len(body.Batch) == 0 {
		v1Error(w, http.StatusBadRequest, "empty_batch", "The batch holds no events.")
		return nil
	}
	events := make([]gatehouse.Event, len(body.Batch))
	seen := make(map[string]bool, len(body.Batch))
	for i, raw := range body.Batch {
		var e v1Event
		if err := json.Unmarshal(raw, &e); err != nil {
			v1Error(w, http.StatusBadRequest, "invalid_event", "Event "+strconv.Itoa(i)+" is not a JSON object.")
			return nil
		}
		id, ok := canonicalUUID(e.UUID)
		switch {
		case !ok:
			v1Error(w, http.StatusBadRequest, "missing_uuid", "Event "+strconv.Itoa(i)+" needs a uuid.")
			return nil
		case seen[id]:
			v1Error(w, http.StatusBadRequest, "duplicate_uuid", "Event "+strconv.Itoa(i)+" repeats uuid "+id+".")
			return nil
		case e.Event == "":
			v1Error(w, http.StatusBadRequest, "missing_event", "Event "+strconv.Itoa(i)+" needs an event name.")
			return nil
		}
		distinct := distinctIDText(e.DistinctID)
		if distinct == "" {
			v1Error(w, http.StatusBadRequest, "missing_distinct_id", "Event "+strconv.Itoa(i)+" needs a distinct_id.")
			return nil
		}
		seen[id] = true
		events[i] = gatehouse.Event{UUID: id, Name: e.Event, DistinctID: distinct, Timestamp: e.Timestamp, Properties: raw}
	}
	if err := h.Capture.Ingest(r.Context(), token, events); err != nil {
		if de, ok := gatehouse.AsError(err); ok && de.Kind == gatehouse.KindUnauthenticated {
			v1Error(w, http.StatusUnauthorized, "invalid_api_token", de.Detail)
			return nil
		}
		httpauth.Logger(r.Context()).Error("capture failed", "error", err.Error())
		w.Header().Set("Retry-After", strconv.Itoa(gatehouse.UnavailableRetryAfter))
		v1Error(w, http.StatusServiceUnavailable, "service_unavailable", "Events could not be stored; retry.")
		return nil
	}
	results := make(map[string]any, len(events))
	for _, e := range events {
		results[e.UUID] = map[string]string{"result": "ok"}
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]any{"results": results})
	return nil
}

// distinctIDText is a distinct_id as text: a string as is, a number as its
// JSON text; anything else is "".
func distinctIDText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return ""
		}
		return strings.TrimSpace(s)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return string(raw)
	}
	return ""
}

// canonicalUUID lower-cases a UUID in its 8-4-4-4-12 hex form.
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return "", false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return "", false
		}
	}
	return strings.ToLower(s), true
}
