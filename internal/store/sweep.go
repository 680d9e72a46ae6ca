package store

import (
	"context"
	"fmt"
	"time"
)

// Sweep deletes the short-lived rows that can no longer be used at now:
// expired sessions, counters, TOTP set-ups, remembered devices, email-MFA
// tokens, WebAuthn challenges and SAML assertion IDs, and pending logins
// older than pendingTTL. Every one of them is already refused when
// expired; sweeping only reclaims space. It returns how many rows went.
func (s *Store) Sweep(ctx context.Context, now time.Time, pendingTTL time.Duration) (int64, error) {
	nowMS := now.UnixMilli()
	var total int64
	for _, st := range []struct {
		query string
		arg   any
	}{
		{`DELETE FROM sessions WHERE expires_at <= ?`, now.UTC()},
		{`DELETE FROM rate_counters WHERE expires_at <= ?`, nowMS},
		{`DELETE FROM totp_setups WHERE expires_at <= ?`, nowMS},
		{`DELETE FROM remembered_devices WHERE expires_at <= ?`, nowMS},
		{`DELETE FROM email_mfa_tokens WHERE expires_at <= ?`, nowMS},
		{`DELETE FROM webauthn_challenges WHERE expires_at <= ?`, nowMS},
		{`DELETE FROM saml_assertion_ids WHERE expires_at < ?`, nowMS},
		{`DELETE FROM pending_logins WHERE created_at < ?`, now.Add(-pendingTTL).UnixMilli()},
	} {
		res, err := s.write.ExecContext(ctx, s.q(st.query), st.arg)
		if err != nil {
			return total, fmt.Errorf("store: sweeping: %w", mapErr(err))
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}
