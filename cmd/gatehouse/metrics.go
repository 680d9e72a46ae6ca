package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/config"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

// startMetrics serves /metrics on cfg.MetricsAddr, a listener of its own so
// the public port never exposes it. With no address it does nothing. The
// returned stop function shuts the listener down.
func startMetrics(cfg *config.Config, logger *slog.Logger) (stop func(), err error) {
	metrics.SetVersion(version)
	if cfg.MetricsAddr == "" {
		return func() {}, nil
	}
	if err := config.CheckListenAddr(cfg.MetricsAddr); err != nil {
		return nil, exitError{code: 2, msg: "gatehouse: --metrics-addr: " + err.Error()}
	}
	if sameListenAddr(cfg.MetricsAddr, cfg.Addr) {
		return nil, exitError{code: 2, msg: "gatehouse: --metrics-addr must differ from --addr: metrics are never served on the public port"}
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return nil, fmt.Errorf("listening for metrics on %s: %w", cfg.MetricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler())
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics listener stopped", "error", err.Error())
		}
	}()
	logger.Info("metrics listening", "addr", ln.Addr().String(), "path", "/metrics")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}

// sameListenAddr reports whether two listen addresses name the same port
// on overlapping interfaces (":8000" and "127.0.0.1:8000" overlap).
func sameListenAddr(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wildcard(ha) || wildcard(hb)
}
