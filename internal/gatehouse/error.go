// Package gatehouse holds Gatehouse's domain: the types every adapter speaks
// (organizations, projects, users, events), the error type that carries
// PostHog's error codes, and the service rules that need no I/O of their own.
package gatehouse

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an Error so that the HTTP layer can choose a status and a
// PostHog error type without the domain knowing about HTTP.
type Kind int

// The kinds of domain error. Each maps to exactly one HTTP status.
const (
	KindInternal         Kind = iota // 500 server_error
	KindInvalid                      // 400 validation_error
	KindUnauthenticated              // 401 authentication_error
	KindPermissionDenied             // 403 authentication_error
	KindNotFound                     // 404 invalid_request
	KindConflict                     // 409 validation_error
	KindTooLarge                     // 413 invalid_request
	KindThrottled                    // 429 throttled_error
	KindUnavailable                  // 503 server_error
	KindMalformed                    // 400 invalid_request (unparsable body)
	KindMethodNotAllowed             // 405 invalid_request
	KindStepRequired                 // 401 server_error (a second login step is due, as PostHog answers it)
	KindBadMediaType                 // 415 invalid_request (a body type the endpoint does not parse)
)

// Error is a domain failure that carries PostHog's error envelope fields:
// Code (e.g. "invalid_credentials"), Detail (human text) and Attr (the field
// the error is about, or ""). Err, when set, is the wrapped cause and is
// never shown to clients.
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Attr   string
	// RetryAfter, in seconds, is set on throttled and unavailable errors.
	RetryAfter int
	Err        error
}

func (e *Error) Error() string {
	msg := e.Code
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Invalid returns a validation error about attr (may be "").
func Invalid(code, attr, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: code, Attr: attr, Detail: fmt.Sprintf(format, args...)}
}

// NotFound returns the standard "Not found." error.
func NotFound() *Error {
	return &Error{Kind: KindNotFound, Code: "not_found", Detail: "Not found."}
}

// AsError finds the *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// ErrNotFound is returned by stores when a row does not exist.
var ErrNotFound = errors.New("not found")

// ErrConflict is returned by stores when a unique constraint is violated.
var ErrConflict = errors.New("conflict")

// ErrSignupClosed is returned when a signup would create a second
// organization on an instance that allows only one.
var ErrSignupClosed = errors.New("signup closed: an organization already exists")

// ThrottledError is the 429 answer PostHog's throttles give.
func ThrottledError(retryAfter time.Duration) *Error {
	secs := int((retryAfter + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &Error{Kind: KindThrottled, Code: "throttled", RetryAfter: secs,
		Detail: fmt.Sprintf("Request was throttled. Expected available in %d seconds.", secs)}
}
