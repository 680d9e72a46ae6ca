package gatehouse

import (
	"context"
	"errors"
	"net"
	"strings"
)

// ErrUnavailable marks the failure of a dependency (the database, Redis)
// that is down, frozen or overloaded: nothing was decided, and the same
// request may succeed later. Adapters wrap their outage errors with it.
var ErrUnavailable = errors.New("a dependency is unavailable")

// UnavailableRetryAfter is the Retry-After, in seconds, of answers given
// while a dependency is unavailable.
const UnavailableRetryAfter = 5

// IsUnavailable reports whether err is a dependency outage rather than a
// bug: an error marked ErrUnavailable, a call that ran out of its deadline,
// a network error, or a database error whose standard SQLSTATE says the
// connection failed (class 08), the server is out of resources (53), an
// operator or a timeout stopped the statement (57: statement_timeout,
// shutdown), or a lock could not be had in time (55P03: lock_timeout).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var sqlErr interface{ SQLState() string }
	if errors.As(err, &sqlErr) {
		state := sqlErr.SQLState()
		return strings.HasPrefix(state, "08") || strings.HasPrefix(state, "53") ||
			strings.HasPrefix(state, "57") || state == "55P03"
	}
	return false
}

// Unavailable returns the 503 answer to a dependency outage, wrapping err
// (logged, never shown).
func Unavailable(err error) *Error {
	return &Error{Kind: KindUnavailable, Code: "service_unavailable",
		Detail: "Service temporarily unavailable, try again later.", RetryAfter: UnavailableRetryAfter, Err: err}
}
