package api

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// handleHealth answers liveness probes: the process is up and serving.
func HandleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpauth.WriteText(w, http.StatusOK, "ok")
	})
}

// handleReady answers readiness probes with the state of each dependency,
// e.g. {"status": "unavailable", "database": "ok", "redis": "down"}: 200
// when every one answers, 503 with Retry-After when any does not (an
// instance that cannot check passwords or counters should get no traffic).
// redis is nil when counters live in the database.
func HandleReady(logger *slog.Logger, db, redis httpauth.Pinger) http.Handler {
	type dependency struct {
		name string
		p    httpauth.Pinger
	}
	deps := []dependency{{"database", db}}
	if redis != nil {
		deps = append(deps, dependency{"redis", redis})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := map[string]string{"status": "ok"}
		status := http.StatusOK
		for _, d := range deps {
			if err := d.p.Ping(r.Context()); err != nil {
				logger.Warn("readiness check failed", "dependency", d.name, "error", err.Error())
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
	})
}
