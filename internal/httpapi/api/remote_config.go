package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// RemoteConfig serves what PostHog's SDKs read as configuration: a
// remote-configuration flag's payload for server SDKs, and the public
// per-project config document posthog-js loads on every page.
type RemoteConfig struct {
	Auth  *httpauth.Auth
	Flags *gatehouse.FlagService
	// AuthGeneration lets requests authenticated by a project secret be
	// served from the services' caches (gatehouse/gencache.go).
	AuthGeneration gatehouse.GenerationSource
}

// Payload answers GET …/feature_flags/{id}/remote_config: the "true"
// payload of a flag marked as remote configuration, to the same
// credentials as local evaluation (a project secret, a personal API key
// with feature_flag:read, a member's session; mount it with
// httpauth.Bearer). The flag is named by numeric ID or by key; the body is
// the payload as stored, a JSON string holding JSON text (null when the
// flag has none). A flag that does not exist in the project or is not
// remote configuration is a 404 with an empty body.
func (h *RemoteConfig) Payload(w http.ResponseWriter, r *http.Request) error {
	if tok, ok := httpauth.BearerToken(r); ok && strings.HasPrefix(tok, gatehouse.PrefixProjectSecret) && httpauth.CallerFrom(r.Context()) == nil {
		r = r.WithContext(gatehouse.WithAuthGeneration(r.Context(), h.AuthGeneration))
	}
	projectID, err := localEvalAuth(r, h.Auth, h.Flags)
	if err != nil {
		return err
	}
	payload, err := h.Flags.RemoteConfigPayload(r.Context(), projectID, r.PathValue("id"))
	if err != nil {
		if e, ok := gatehouse.AsError(err); ok && e.Kind == gatehouse.KindNotFound {
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusNotFound)
			return nil
		}
		return err
	}
	w.Header().Set("Cache-Control", "private, no-cache")
	if payload == "" {
		httpauth.WriteJSON(w, http.StatusOK, nil)
		return nil
	}
	httpauth.WriteJSON(w, http.StatusOK, payload)
	return nil
}

// projectTokenPattern is the shape of a token in /array/<token>/.
var projectTokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,200}$`)

// projectConfigJSON is the remote-config document posthog-js reads for a
// project: where to send events and which compression it may use, whether
// to ask /flags, and every feature Gatehouse does not have (session
// recording, surveys, heatmaps, site apps…) switched off with PostHog's
// own "off" values.
func projectConfigJSON(token string, hasFlags bool) map[string]any {
	return map[string]any{
		"token":                 token,
		"supportedCompression":  []string{"gzip", "gzip-js"},
		"hasFeatureFlags":       hasFlags,
		"captureDeadClicks":     false,
		"capturePerformance":    false,
		"autocapture_opt_out":   false,
		"autocaptureExceptions": false,
		"analytics":             map[string]string{"endpoint": "/i/v0/e/"},
		"elementsChainAsString": true,
		"errorTracking":         map[string]any{"autocaptureExceptions": false, "suppressionRules": []any{}},
		"logs":                  map[string]any{"captureConsoleLogs": false},
		"sessionRecording":      false,
		"heatmaps":              false,
		"conversations":         false,
		"surveys":               false,
		"survey_config":         nil,
		"productTours":          false,
		"defaultIdentifiedOnly": true,
		"siteApps":              []any{},
	}
}

// Config answers /array/{token}/config: the project's remote-config
// document as JSON (see serveConfig).
func (h *RemoteConfig) Config(w http.ResponseWriter, r *http.Request) error {
	return h.serveConfig(w, r, false)
}

// Script answers /array/{token}/config.js: a script that stores the same
// document as Config in window._POSTHOG_REMOTE_CONFIG[<token>].
func (h *RemoteConfig) Script(w http.ResponseWriter, r *http.Request) error {
	return h.serveConfig(w, r, true)
}

// serveConfig serves the remote-config document, as a script with js.
// Both forms are public: the token is the public project token, the
// answer is readable from any origin and may be cached for five minutes,
// with an ETag for revalidation.
func (h *RemoteConfig) serveConfig(w http.ResponseWriter, r *http.Request, js bool) error {
	hdr := w.Header()
	hdr.Set("Access-Control-Allow-Origin", "*")
	switch r.Method {
	case http.MethodOptions:
		hdr.Set("Access-Control-Allow-Methods", "GET, OPTIONS")
		if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
			hdr.Set("Access-Control-Allow-Headers", req)
		}
		hdr.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusOK)
		return nil
	case http.MethodGet, http.MethodHead:
	default:
		hdr.Set("Allow", "GET, HEAD, OPTIONS")
		return &gatehouse.Error{Kind: gatehouse.KindMethodNotAllowed, Code: "method_not_allowed", Detail: `Method "` + r.Method + `" not allowed.`}
	}
	token := r.PathValue("token")
	if !projectTokenPattern.MatchString(token) {
		return gatehouse.Invalid("invalid_input", "token", "Invalid token")
	}
	p, err := h.Flags.ProjectByToken(r.Context(), token)
	if err != nil {
		return err
	}
	defs, err := h.Flags.Definitions(r.Context(), p.ID)
	if err != nil {
		return err
	}
	hasFlags := false
	for i := range defs {
		hasFlags = hasFlags || defs[i].Active
	}
	doc := projectConfigJSON(p.APIToken, hasFlags)
	var body []byte
	contentType := "application/json"
	if js {
		contentType = "application/javascript"
		state := httpauth.EncodeJSON(map[string]any{"config": doc, "siteApps": []any{}})
		body = []byte("(function() {\n  window._POSTHOG_REMOTE_CONFIG = window._POSTHOG_REMOTE_CONFIG || {};\n  window._POSTHOG_REMOTE_CONFIG[" +
			strings.TrimSpace(string(httpauth.EncodeJSON(p.APIToken))) + "] = " + strings.TrimSpace(string(state)) + ";\n})();\n")
	} else {
		body = httpauth.EncodeJSON(doc)
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:16]) + `"`
	hdr.Set("ETag", etag)
	hdr.Set("Cache-Control", "public, max-age=300")
	hdr.Add("Vary", "Origin, Referer")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hdr.Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
	return nil
}
