package api

import (
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Health serves the probes: /_health (liveness) and /_readyz (readiness).
type Health struct {
	Database httpauth.Pinger
	// Redis is nil when counters live in the database.
	Redis httpauth.Pinger
}

// Live answers GET /_health, the liveness probe: the process is up and
// serving.
func (h *Health) Live(w http.ResponseWriter, r *http.Request) error {
	httpauth.WriteText(w, http.StatusOK, "ok")
	return nil
}

// Ready answers GET /_readyz, the readiness probe, with the state of each
// dependency, e.g. {"status": "unavailable", "database": "ok", "redis":
// "down"}: 200 when every one answers, 503 with Retry-After when any does
// not (an instance that cannot check passwords or counters should get no
// traffic).
func (h *Health) Ready(w http.ResponseWriter, r *http.Request) error {
	type dependency struct {
		name string
		p    httpauth.Pinger
	}
	deps := []dependency{{"database", h.Database}}
	if h.Redis != nil {
		deps = append(deps, dependency{"redis", h.Redis})
	}
	body := map[string]string{"status": "ok"}
	status := http.StatusOK
	for _, d := range deps {
		if err := d.p.Ping(r.Context()); err != nil {
			httpauth.Logger(r.Context()).Warn("readiness check failed", "dependency", d.name, "error", err.Error())
			body[d.name] = "down"
			body["status"] = "unavailable"
			status = http.StatusServiceUnavailable
			continue
		}
		body[d.name] = "ok"
	}
	if status != http.StatusOK {
		w.Header().Set("Retry-After", strconv.Itoa(gatehouse.UnavailableRetryAfter))
	}
	httpauth.WriteJSON(w, status, body)
	return nil
}
