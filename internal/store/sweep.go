package store

import (
	"context"
	"fmt"
	"time"
)

// Sweep deletes the short-lived rows that can no longer be used at now:
// expired sessions, counters, TOTP set-ups, remembered devices, email-MFA
// tokens, WebAuthn challenges and SAML assertion IDs, pending logins
// older than pendingTTL, and outbox messages older than OutboxRetention.
// Every one of them is already refused when expired; sweeping reclaims
// space, and keeps old email metadata from piling up. It returns how many
// rows went.
func (s *Store) Sweep(ctx context.Context, now time.Time, pendingTTL time.Duration) (int64, error) {
	nowMS := now.UnixMilli()
	var total int64
	for _, sweep := range []func() (int64, error){
		func() (int64, error) { return s.DeleteExpiredSessions(ctx, now) },
		func() (int64, error) { return s.DeleteExpiredCounters(ctx, now) },
		func() (int64, error) { return s.DeleteExpiredPendingLogins(ctx, now.Add(-pendingTTL)) },
		func() (int64, error) { return s.DeleteExpiredWebAuthnChallenges(ctx, now) },
		func() (int64, error) {
			return s.deleteCount(ctx, `DELETE FROM totp_setups WHERE expires_at <= ?`, nowMS)
		},
		func() (int64, error) {
			return s.deleteCount(ctx, `DELETE FROM remembered_devices WHERE expires_at <= ?`, nowMS)
		},
		func() (int64, error) {
			return s.deleteCount(ctx, `DELETE FROM email_mfa_tokens WHERE expires_at <= ?`, nowMS)
		},
		func() (int64, error) {
			return s.deleteCount(ctx, `DELETE FROM saml_assertion_ids WHERE expires_at < ?`, nowMS)
		},
		func() (int64, error) { return s.DeleteOldMail(ctx, now.Add(-OutboxRetention)) },
	} {
		n, err := sweep()
		if err != nil {
			return total, fmt.Errorf("store: sweeping: %w", err)
		}
		total += n
	}
	return total, nil
}

// deleteCount runs a DELETE on the writer and returns how many rows went.
func (s *Store) deleteCount(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}
