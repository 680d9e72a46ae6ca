package store

import (
	"context"
	"database/sql"
	"sort"
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
// pending reset and revokes every other way into the account (see
// revokeAccountAccess), in one transaction and only if the pending reset
// is still the one requested at expectedRequestedAt. ok is false (and
// nothing changes) when it is not: the reset was already completed or
// superseded, so of two concurrent completions with one token exactly one
// succeeds. revokedKeys are the labels of the personal API keys deleted.
// A completed reset also marks the email verified: the link went to it.
func (s *Store) CompletePasswordReset(ctx context.Context, userID int64, expectedRequestedAt time.Time, expectedHash, newHash gatehouse.Secret) (revokedKeys []string, ok bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		revokedKeys = nil
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
		if revokedKeys, err = s.revokeAccountAccess(ctx, tx, userID); err != nil {
			return err
		}
		// The token was mailed to the address: using it proves the
		// address, so an account awaiting verification (an accepted
		// invite) is verified from now on.
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET is_email_verified = ? WHERE id = ?`), true, userID); err != nil {
			return mapErr(err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return revokedKeys, ok, nil
}

// revokeAccountAccess ends every session and half-finished (second-step)
// login of the user and deletes their personal API keys, remembered
// (trusted) devices and outstanding email sign-in links, inside tx. It runs
// when control of an account changes hands (a password reset, an SSO
// takeover of an unverified account), so that whoever held the account
// before keeps no way in. When the account's email is awaiting
// verification (explicitly false: nobody ever proved the address, as
// after an accepted invite) its passkeys and second factors go too: they
// were enrolled by whoever held it, who need not be the address's owner.
// A verified (or legacy unset) account keeps them, so a reset by someone
// who only controls the mailbox still meets the second factor. It returns
// the labels of the deleted keys, for the notice to the user. Deleting
// keys and credentials moves the auth generation, so instances caching
// key lookups see the revocation on the next request.
func (s *Store) revokeAccountAccess(ctx context.Context, tx *sql.Tx, userID int64) ([]string, error) {
	var verified sql.NullBool
	if err := tx.QueryRowContext(ctx, s.q(`SELECT is_email_verified FROM users WHERE id = ?`), userID).Scan(&verified); err != nil {
		return nil, mapErr(err)
	}
	rows, err := tx.QueryContext(ctx, s.q(`DELETE FROM personal_api_keys WHERE user_id = ? RETURNING label`), userID)
	if err != nil {
		return nil, mapErr(err)
	}
	var labels []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			rows.Close()
			return nil, mapErr(err)
		}
		labels = append(labels, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	sort.Strings(labels)
	tables := []string{"sessions", "pending_logins", "remembered_devices", "email_mfa_tokens"}
	if verified.Valid && !verified.Bool {
		tables = append(tables, "webauthn_credentials", "passkey_two_factor", "totp_devices", "totp_setups", "backup_codes")
	}
	for _, table := range tables {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE user_id = ?`), userID); err != nil {
			return nil, mapErr(err)
		}
	}
	return labels, nil
}
