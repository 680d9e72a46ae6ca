package httpauth

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/ratelimit"
)

// throttle counts one hit on key under rate; it returns the 429 error when
// the hit is over the limit. Without a limiter nothing is throttled.
func Throttle(r *http.Request, d Auth, rate ratelimit.Rate, parts ...string) error {
	if d.Limiter == nil || rate.Limit == 0 {
		return nil
	}
	ok, retry, err := d.Limiter.Allow(r.Context(), ratelimit.Key(parts...), rate)
	if err != nil {
		return err
	}
	if !ok {
		return gatehouse.ThrottledError(retry)
	}
	return nil
}

// signupLocks serialize, on this instance, the signups from one client
// address (striped by a hash of the throttle key: unrelated addresses may
// share a stripe, which only queues them behind each other).
var (
	signupLocks    [64]sync.Mutex
	signupLockSeed = maphash.MakeSeed()
)

// withSignupThrottle runs create (a signup that makes an account) under
// SIGNUP_RATE for the client's address. Only signups that succeed count:
// one refused for a weak password, a taken email or any other error uses
// up nothing. The exact rule: a signup is refused (429) when, as it
// starts, SIGNUP_RATE.Limit successful signups from the address are
// already counted in the current window, which opens at the first counted
// success and lasts SIGNUP_RATE.Period. The check, the signup and the
// count run under one lock per address on each instance, so one instance
// never lets more than Limit succeed in a window; with K instances
// sharing the counters, signups checked at the same moment on different
// instances can each pass, so at most Limit+K-1 succeed.
func WithSignupThrottle(r *http.Request, d Auth, create func() error) error {
	rate := d.SignupRate
	if d.Limiter == nil || rate.Limit <= 0 || rate.Period <= 0 {
		return create()
	}
	key := ratelimit.Key("signup-address", ThrottleAddress(r))
	mu := &signupLocks[maphash.String(signupLockSeed, key)%uint64(len(signupLocks))]
	mu.Lock()
	defer mu.Unlock()
	full, wait, err := d.Limiter.Lockout(rate.Limit, rate.Period).Locked(r.Context(), key)
	if err != nil {
		return err
	}
	if full {
		e := gatehouse.ThrottledError(wait)
		e.Detail = "Too many accounts were created from your network. Please try again in " + waitInWords(wait) + "."
		return e
	}
	if err := create(); err != nil {
		return err
	}
	if _, _, err := d.Limiter.Allow(r.Context(), key, rate); err != nil {
		// The account exists: answer with it, and say why it went uncounted.
		d.Logger.LogAttrs(r.Context(), slog.LevelError, "counting a signup failed", slog.String("error", err.Error()))
	}
	return nil
}

// waitInWords says how long a throttled caller must wait, rounded to the
// nearest whole unit of the largest unit that fits and never to zero:
// "1 second", "5 minutes", "23 hours", "3 days".
func waitInWords(d time.Duration) string {
	unit := func(n float64, name string) string {
		v := int64(math.Max(1, math.Round(n)))
		if v == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", v, name)
	}
	switch {
	case d < 59*time.Second+500*time.Millisecond:
		return unit(d.Seconds(), "second")
	case d < 59*time.Minute+30*time.Second:
		return unit(d.Minutes(), "minute")
	case d < 47*time.Hour+30*time.Minute:
		return unit(d.Hours(), "hour")
	}
	return unit(d.Hours()/24, "day")
}

// createOwner validates a signup (the JSON API's and the page's) and creates
// the user, their organization and its default project. A nil password is
// a missing field.
func CreateOwner(r *http.Request, d Auth, firstName, lastName, email string, password *string, organizationName string) (*gatehouse.CreatedOrganization, error) {
	firstName = strings.TrimSpace(firstName)
	switch {
	case firstName == "":
		return nil, gatehouse.Invalid("required", "first_name", "This field is required.")
	case utf8.RuneCountInString(firstName) > 128:
		return nil, gatehouse.Invalid("max_length", "first_name", "Ensure this field has no more than 128 characters.")
	case password == nil:
		return nil, gatehouse.Invalid("required", "password", "This field is required.")
	}
	orgName := strings.TrimSpace(organizationName)
	if orgName == "" {
		orgName = firstName + "'s Organization"
	}
	return d.Accounts.CreateOrganizationWithOwner(r.Context(), gatehouse.NewOwner{
		Email: email, Password: gatehouse.Secret(*password), FirstName: firstName, LastName: lastName,
		OrganizationName: orgName, OnlyFirst: !d.MultiOrgEnabled, Unverified: d.Verifier != nil,
	})
}
