package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// sweepInterval is how often the server deletes expired short-lived rows.
const sweepInterval = 10 * time.Minute

// sweepLoop deletes expired sessions, counters, pending logins, tokens
// and challenges, and outbox messages older than store.OutboxRetention,
// now and then every sweepInterval until ctx ends; it also deletes audit
// events older than auditRetention (whole days, keeping the chain
// verifiable from their checkpoint). Every instance may sweep: the deletes
// are idempotent.
func sweepLoop(ctx context.Context, st *store.Store, logger *slog.Logger, auditRetention time.Duration) {
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		n, err := st.Sweep(ctx, time.Now(), gatehouse.TwoFactorLoginTTL)
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Warn("sweeping expired rows failed", "error", err.Error())
		case n > 0:
			logger.Info("swept expired rows", "rows", n)
		}
		if auditRetention > 0 {
			n, err := st.PruneAudit(ctx, time.Now().Add(-auditRetention))
			switch {
			case err != nil && ctx.Err() == nil:
				logger.Warn("pruning old audit events failed", "error", err.Error())
			case n > 0:
				logger.Info("pruned old audit events", "events", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
