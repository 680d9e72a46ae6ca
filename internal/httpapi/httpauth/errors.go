package httpauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Envelope is PostHog's error body.
type Envelope struct {
	Type   string  `json:"type"`
	Code   string  `json:"code"`
	Detail string  `json:"detail"`
	Attr   *string `json:"attr"`
}

// StatusAndType maps a domain error kind to its HTTP status and PostHog
// error type.
func StatusAndType(k gatehouse.Kind) (int, string) {
	switch k {
	case gatehouse.KindInvalid:
		return http.StatusBadRequest, "validation_error"
	case gatehouse.KindUnauthenticated:
		return http.StatusUnauthorized, "authentication_error"
	case gatehouse.KindPermissionDenied:
		return http.StatusForbidden, "authentication_error"
	case gatehouse.KindNotFound:
		return http.StatusNotFound, "invalid_request"
	case gatehouse.KindConflict:
		return http.StatusConflict, "validation_error"
	case gatehouse.KindTooLarge:
		return http.StatusRequestEntityTooLarge, "invalid_request"
	case gatehouse.KindThrottled:
		return http.StatusTooManyRequests, "throttled_error"
	case gatehouse.KindUnavailable:
		return http.StatusServiceUnavailable, "server_error"
	case gatehouse.KindMalformed:
		return http.StatusBadRequest, "invalid_request"
	case gatehouse.KindMethodNotAllowed:
		return http.StatusMethodNotAllowed, "invalid_request"
	case gatehouse.KindStepRequired:
		return http.StatusUnauthorized, "server_error"
	case gatehouse.KindBadMediaType:
		return http.StatusUnsupportedMediaType, "invalid_request"
	}
	return http.StatusInternalServerError, "server_error"
}

// DomainError is err as the domain error it answers with: a dependency
// outage (the database or Redis down, frozen or overloaded) becomes the
// 503 unavailable error, anything else keeps its own kind; ok is false for
// errors that are neither (bugs, answered 500).
func DomainError(err error) (e *gatehouse.Error, ok bool) {
	e, ok = gatehouse.AsError(err)
	if (!ok || e.Kind == gatehouse.KindInternal) && gatehouse.IsUnavailable(err) {
		return gatehouse.Unavailable(err), true
	}
	return e, ok
}

// loggerKey is the context key of the server's logger.
type loggerKey struct{}

// WithLogger returns ctx carrying the server's logger, which WriteError
// and the handlers log to; NewServer attaches it to every request.
func WithLogger(ctx context.Context, logger *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, logger)
}

// Logger is the logger WithLogger attached to ctx, or one that discards.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return discard
}

var discard = slog.New(slog.DiscardHandler)

// Handler is an HTTP handler that returns its error instead of writing
// it: ServeHTTP hands the error to WriteError, so no handler writes an
// error itself.
type Handler func(w http.ResponseWriter, r *http.Request) error

// ServeHTTP runs h and writes the error it returns.
func (h Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h(w, r); err != nil {
		WriteError(w, r, err)
	}
}

// bearerChallenge is an error whose 401 advertises the Bearer scheme.
type bearerChallenge struct{ error }

func (b bearerChallenge) Unwrap() error { return b.error }

// BearerChallenge marks err so that, answered 401, it carries
// "WWW-Authenticate: Bearer" rather than "Session": key authenticators
// (personal API keys, project secrets) advertise Bearer
// (docs/posthog-compat.md#error-envelope). nil stays nil.
func BearerChallenge(err error) error {
	if err == nil {
		return nil
	}
	return bearerChallenge{err}
}

// Bearer serves next and marks the error it returns with BearerChallenge:
// the routes server SDKs call with keys (local evaluation, remote config).
func Bearer(next Handler) Handler {
	return func(w http.ResponseWriter, r *http.Request) error { return BearerChallenge(next(w, r)) }
}

// WriteError is the one place an error becomes an HTTP response. Domain
// errors keep their code, detail and attr; a dependency outage is a 503
// with Retry-After (logged as a warning); anything else is logged and
// answered with a generic 500 that reveals nothing.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	logger := Logger(r.Context())
	e, ok := DomainError(err)
	if ok && e.Code == "service_unavailable" && e.Err != nil {
		logger.LogAttrs(r.Context(), slog.LevelWarn, "dependency unavailable", slog.String("path", LoggablePath(r.URL.Path)), slog.String("error", e.Err.Error()))
	}
	if !ok {
		logger.LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("path", LoggablePath(r.URL.Path)), slog.String("error", err.Error()))
		e = &gatehouse.Error{Kind: gatehouse.KindInternal, Code: "error", Detail: "A server error occurred."}
	} else if e.Kind == gatehouse.KindInternal && e.Err != nil {
		logger.LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("path", LoggablePath(r.URL.Path)), slog.String("error", e.Err.Error()))
	}
	status, typ := StatusAndType(e.Kind)
	if status == http.StatusUnauthorized {
		challenge := "Session"
		if errors.As(err, new(bearerChallenge)) {
			challenge = "Bearer"
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	} else if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(gatehouse.UnavailableRetryAfter))
	}
	body := Envelope{Type: typ, Code: e.Code, Detail: e.Detail}
	if e.Attr != "" {
		body.Attr = &e.Attr
	}
	WriteJSON(w, status, body)
}

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	WriteJSONBytes(w, status, EncodeJSON(v))
}

// EncodeJSON is v as the API writes it: no HTML escaping, a final newline.
func EncodeJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return buf.Bytes()
}

// WriteJSONBytes writes an answer encodeJSON made.
func WriteJSONBytes(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// WriteText writes a plain-text response (capture errors, blocked IPs).
func WriteText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(msg))
}

// HandleNotFound answers every path no route claims.
func HandleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, gatehouse.NotFound())
	})
}
