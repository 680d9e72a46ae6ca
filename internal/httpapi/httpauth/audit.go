package httpauth

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// withAuditClient attaches the client address (as the resolver saw it)
// and User-Agent to the request's context, for the audit events it
// records; netguard's middleware calls it (netguard.MiddlewareWith).
func WithAuditClient(ctx context.Context, r *http.Request, client netip.Addr) context.Context {
	return gatehouse.WithAuditClient(ctx, client, r.UserAgent())
}

// auditFilter reads the query: actor (a user uuid), event_type, target
// (a target id), after and before (RFC 3339 or a date), limit, offset.
func AuditFilter(r *http.Request) (gatehouse.AuditFilter, error) {
	q := r.URL.Query()
	f := gatehouse.AuditFilter{ActorUUID: q.Get("actor"), Type: gatehouse.AuditEventType(q.Get("event_type")), TargetID: q.Get("target")}
	for _, p := range []struct {
		name string
		out  *int
		def  int
	}{{"limit", &f.Limit, 100}, {"offset", &f.Offset, 0}} {
		*p.out = p.def
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return f, gatehouse.Invalid("invalid_input", p.name, "A valid non-negative integer is required.")
			}
			*p.out = n
		}
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	f.Limit = min(f.Limit, gatehouse.MaxAuditPage)
	for _, p := range []struct {
		name string
		out  *time.Time
	}{{"after", &f.After}, {"before", &f.Before}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t, err = time.Parse(time.DateOnly, v)
		}
		if err != nil {
			return f, gatehouse.Invalid("invalid_input", p.name, "Enter a valid date or RFC 3339 time.")
		}
		*p.out = t
	}
	return f, nil
}

// auditPage is PostHog's limit/offset page: count, next, previous, results.
func AuditPage(r *http.Request, d Auth, f gatehouse.AuditFilter, events []gatehouse.AuditEvent, count int) map[string]any {
	results := make([]gatehouse.AuditLine, 0, len(events))
	for i := range events {
		results = append(results, events[i].Line())
	}
	return PageJSON(r, d, results, count, f.Limit, f.Offset)
}

// auditLoginRefused records a refused password sign-in: wrong email or
// password (login.failed, reason invalid_credentials) or a locked-out
// email or address (login.locked). Other answers (bad input, a second
// step due, an unverified email) are not refusals. The event goes through
// the batching writer: a flood of wrong passwords never waits on it.
func AuditLoginRefused(r *http.Request, d Auth, email string, err error) {
	e, ok := gatehouse.AsError(err)
	if err == nil || !ok {
		return
	}
	typ := gatehouse.AuditLoginFailed
	switch e.Code {
	case "invalid_credentials":
	case "too_many_failed_attempts":
		typ = gatehouse.AuditLoginLocked
	default:
		return
	}
	if len(email) > 254 {
		email = email[:254]
	}
	d.Audit.RecordRefusal(r.Context(), gatehouse.AuditEvent{Type: typ, Outcome: gatehouse.AuditFailure, Reason: e.Code,
		Actor: gatehouse.AuditActor{Type: "anonymous"}, Target: gatehouse.AuditTarget{Type: "login", Label: strings.ToLower(strings.TrimSpace(email))}})
}

// auditAllowListRefusal returns what records a request the IP allow-list
// refuses (netguard calls it with the address it resolved), sampled: per
// client address and UTC hour, the 1st, 10th, 100th, … refusal is
// recorded, carrying the count so far, so a scanner costs a handful of
// events, not one per request. nil when nothing is recorded.
func AuditAllowListRefusal(d Auth) func(r *http.Request, addr netip.Addr) {
	if !d.AllowList.Enabled() || d.Audit == nil {
		return nil
	}
	sampler := &refusalSampler{}
	return func(r *http.Request, addr netip.Addr) {
		n, record := sampler.count(addr, time.Now())
		if !record {
			return
		}
		path := r.URL.Path
		if len(path) > 200 {
			path = path[:200]
		}
		d.Audit.RecordRefusal(r.Context(), gatehouse.AuditEvent{Type: gatehouse.AuditAllowListRefused,
			Actor: gatehouse.AuditActor{Type: "anonymous"}, ClientAddr: addrText(addr), UserAgent: gatehouse.BrowserFamily(r.UserAgent()),
			Target: gatehouse.AuditTarget{Type: "path", Label: path}, Outcome: gatehouse.AuditRefused, Reason: "ip_not_allowed",
			Changes: []gatehouse.AuditChange{{Field: "refusals_this_hour", Old: nil, New: n}}})
	}
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// refusalSampler counts refusals per address in the current hour.
type refusalSampler struct {
	mu     sync.Mutex
	hour   int64
	counts map[netip.Addr]int64
}

// maxSampledAddrs bounds the addresses counted in one hour; beyond it the
// rest are counted together (under the zero address).
const maxSampledAddrs = 10_000

func (s *refusalSampler) count(addr netip.Addr, now time.Time) (n int64, record bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h := now.Unix() / 3600; h != s.hour || s.counts == nil {
		s.hour, s.counts = h, map[netip.Addr]int64{}
	}
	if _, ok := s.counts[addr]; !ok && len(s.counts) >= maxSampledAddrs {
		addr = netip.Addr{}
	}
	s.counts[addr]++
	n = s.counts[addr]
	for p := int64(1); p <= n; p *= 10 {
		if p == n {
			return n, true
		}
	}
	return n, false
}
