package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/api"
	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// TestDependencyOutagesAnswer503: errors that mean a dependency is down,
// frozen or overloaded answer 503 service_unavailable with Retry-After;
// other unknown errors stay a 500 without it.
func TestDependencyOutagesAnswer503(t *testing.T) {
	t.Parallel()
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"call deadline", fmt.Errorf("store: reading user: %w", context.DeadlineExceeded), 503},
		{"connection refused", fmt.Errorf("lockout: %w", refused), 503},
		{"redis", fmt.Errorf("ratelimit: %w: %w", gatehouse.ErrUnavailable, errors.New("LOADING Redis is loading")), 503},
		{"statement_timeout", fmt.Errorf("store: %w", sqlStateError("57014")), 503},
		{"lock_timeout", sqlStateError("55P03"), 503},
		{"too many connections", sqlStateError("53300"), 503},
		{"internal wrapping an outage", &gatehouse.Error{Kind: gatehouse.KindInternal, Code: "error", Err: context.DeadlineExceeded}, 503},
		{"provider unreachable", &gatehouse.Error{Kind: gatehouse.KindUnavailable, Code: "sso_provider_error"}, 503},
		{"bug", errors.New("nil map"), 500},
		{"constraint", sqlStateError("23505"), 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpauth.WriteError(rec, httptest.NewRequest("GET", "/api/users/@me/", nil), tc.err)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if got := rec.Header().Get("Retry-After"); (tc.want == 503) != (got != "") {
				t.Fatalf("Retry-After %q with status %d", got, rec.Code)
			}
			var body httpauth.Envelope
			json.Unmarshal(rec.Body.Bytes(), &body)
			if tc.want == 503 && tc.name != "provider unreachable" && (body.Code != "service_unavailable" || body.Type != "server_error") {
				t.Fatalf("body %s", rec.Body)
			}
		})
	}
}

// sqlStateError is a database error with a standard SQLSTATE, as pgx's.
type sqlStateError string

func (e sqlStateError) Error() string    { return "database error " + string(e) }
func (e sqlStateError) SQLState() string { return string(e) }

type pingResult struct{ err error }

func (p pingResult) Ping(context.Context) error { return p.err }

// TestReadinessReportsEachDependency: /_readyz names each dependency's
// state and is 503 with Retry-After when any is down.
func TestReadinessReportsEachDependency(t *testing.T) {
	t.Parallel()
	up, down := pingResult{}, pingResult{errors.New("i/o timeout")}
	for _, tc := range []struct {
		name        string
		db, redis   httpauth.Pinger
		status      int
		dbState     string
		redisState  string
		redisListed bool
	}{
		{"all up", up, up, 200, "ok", "ok", true},
		{"redis down", up, down, 503, "ok", "down", true},
		{"database down", down, up, 503, "down", "ok", true},
		{"no redis", up, nil, 200, "ok", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			httpauth.Handler((&api.Health{Database: tc.db, Redis: tc.redis}).Ready).ServeHTTP(rec, httptest.NewRequest("GET", "/_readyz", nil))
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			_, listed := body["redis"]
			if rec.Code != tc.status || body["database"] != tc.dbState || body["redis"] != tc.redisState || listed != tc.redisListed {
				t.Fatalf("%d %v", rec.Code, body)
			}
			if (rec.Code == 503) != (rec.Header().Get("Retry-After") != "") {
				t.Fatalf("Retry-After %q with %d", rec.Header().Get("Retry-After"), rec.Code)
			}
		})
	}
}
