package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// SetPasswordResetRequestedAt records that the user asked for a password
// reset at at (kept to the millisecond). It returns gatehouse.ErrNotFound
// when there is no such user.
func (s *Store) SetPasswordResetRequestedAt(ctx context.Context, userID int64, at time.Time) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE users SET password_reset_requested_at = ? WHERE id = ?`), at.UnixMilli(), userID)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// PasswordResetRequestedAt returns when the user last asked for a password
// reset; ok is false when no reset is pending. A missing user is
// gatehouse.ErrNotFound.
func (s *Store) PasswordResetRequestedAt(ctx context.Context, userID int64) (at time.Time, ok bool, err error) {
	var ms sql.NullInt64
	err = s.read.QueryRowContext(ctx, s.q(`SELECT password_reset_requested_at FROM users WHERE id = ?`), userID).Scan(&ms)
	if err != nil {
		return time.Time{}, false, mapErr(err)
	}
	if !ms.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(ms.Int64).UTC(), true, nil
}

// CompletePasswordReset sets the user's new password hash, clears the
// pending reset and ends all the user's sessions, in one transaction and
// only if the pending reset is still the one requested at
// expectedRequestedAt. ok is false (and nothing changes) when it is not:
// the reset was already completed or superseded, so of two concurrent
// completions with one token exactly one succeeds.
func (s *Store) CompletePasswordReset(ctx context.Context, userID int64, expectedRequestedAt time.Time, expectedHash, newHash gatehouse.Secret) (ok bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE users SET password_hash = ?, password_reset_requested_at = NULL
			WHERE id = ? AND password_reset_requested_at = ? AND password_hash = ?`), newHash.Reveal(), userID, expectedRequestedAt.UnixMilli(), expectedHash.Reveal())
		if err != nil {
			return mapErr(err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ?`), userID); err != nil {
			return mapErr(err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return ok, nil
}
