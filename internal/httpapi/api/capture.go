package api

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/capture"
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Capture serves event capture: PostHog's event endpoints and the v1
// capture API (capture_v1.go).
type Capture struct {
	Capture *gatehouse.CaptureService
}

// Ingest serves PostHog's event endpoints (/e, /i/v0/e, /capture, /track,
// /engage, /batch). Its errors are plain text, as PostHog's capture service
// answers, so it writes them itself and returns nil; a 200 is written only
// after the events are durable.
func (h *Capture) Ingest(w http.ResponseWriter, r *http.Request) error {
	captureCORS(w, r)
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusOK)
		return nil
	case http.MethodGet, http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST, OPTIONS")
		httpauth.WriteText(w, http.StatusMethodNotAllowed, "method not allowed")
		return nil
	}
	ep, ok := capture.EndpointFor(r.URL.Path)
	if !ok {
		httpauth.WriteText(w, http.StatusNotFound, "not found")
		return nil
	}
	batch, err := capture.Decode(r, ep)
	if err != nil {
		if ce, ok := err.(*capture.Error); ok {
			httpauth.WriteText(w, ce.Status, ce.Message)
			return nil
		}
		httpauth.Logger(r.Context()).Error("capture decode failed", "error", err.Error())
		httpauth.WriteText(w, http.StatusInternalServerError, "internal error")
		return nil
	}
	events := make([]gatehouse.Event, len(batch.Events))
	for i, e := range batch.Events {
		events[i] = gatehouse.Event{UUID: e.UUID, Name: e.Name, DistinctID: e.DistinctID, Timestamp: e.Timestamp, Properties: e.Raw}
	}
	if err := h.Capture.Ingest(r.Context(), batch.Token, events); err != nil {
		if de, ok := gatehouse.AsError(err); ok && de.Kind == gatehouse.KindUnauthenticated {
			httpauth.WriteText(w, http.StatusUnauthorized, de.Detail)
			return nil
		}
		httpauth.Logger(r.Context()).Error("capture failed", "error", err.Error())
		w.Header().Set("Retry-After", strconv.Itoa(gatehouse.UnavailableRetryAfter))
		httpauth.WriteText(w, http.StatusServiceUnavailable, "events could not be stored; retry")
		return nil
	}
	if r.URL.Query().Get("beacon") == "1" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	httpauth.WriteJSON(w, http.StatusOK, map[string]int{"status": 1})
	return nil
}

// captureCORS lets browsers on any site send events, as PostHog's capture
// does: the request's origin is mirrored and credentials are allowed.
func captureCORS(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Add("Vary", "Origin")
	if r.Method == http.MethodOptions {
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			h.Set("Access-Control-Allow-Headers", req)
		} else {
			h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization")
		}
		h.Set("Access-Control-Max-Age", "86400")
	}
}
