package httpauth

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func TestLoginOutcome(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "success"},
		{gatehouse.Invalid("invalid_credentials", "", "Invalid email or password."), "failure"},
		{fmt.Errorf("wrapped: %w", &gatehouse.Error{Kind: gatehouse.KindPermissionDenied, Code: "too_many_failed_attempts"}), "locked"},
		{&gatehouse.Error{Kind: gatehouse.KindUnauthenticated, Code: "2fa_required"}, "second_factor_required"},
		{&gatehouse.Error{Kind: gatehouse.KindUnauthenticated, Code: "email_mfa_required"}, "second_factor_required"},
		{gatehouse.ThrottledError(30 * time.Second), "throttled"},
		{gatehouse.Invalid("required", "email", "This field is required."), "invalid"},
		{&gatehouse.Error{Kind: gatehouse.KindUnavailable, Code: "busy"}, "error"},
		{errors.New("database is down"), "error"},
	} {
		if got := loginOutcome(tc.err); got != tc.want {
			t.Errorf("loginOutcome(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
