package httpauth

import (
	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

// countLogin records a login attempt's outcome in the metrics: method is
// how the user signed in ("password", …), err what the attempt returned.
func CountLogin(method string, err error) {
	metrics.Login(method, loginOutcome(err))
}

// loginOutcome sorts a login's result into the few outcomes the metrics
// know: success, failure (wrong credentials), locked,
// second_factor_required, throttled, invalid (a malformed or refused
// request) and error (ours).
func loginOutcome(err error) string {
	if err == nil {
		return "success"
	}
	e, ok := gatehouse.AsError(err)
	switch {
	case !ok:
		return "error"
	case e.Code == "invalid_credentials":
		return "failure"
	case e.Code == "too_many_failed_attempts":
		return "locked"
	case e.Code == "2fa_required" || e.Code == "email_mfa_required":
		return "second_factor_required" // password right, a second step is due
	case e.Kind == gatehouse.KindThrottled:
		return "throttled"
	case e.Kind == gatehouse.KindInternal || e.Kind == gatehouse.KindUnavailable:
		return "error"
	default:
		return "invalid"
	}
}
