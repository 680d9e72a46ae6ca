package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Two-factor state (migration 0010). Times are Unix milliseconds.

func ms(t time.Time) int64     { return t.UnixMilli() }
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }
func rowsAffected(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n > 0, err
}

// SaveTOTPSetup keeps a sealed TOTP secret offered for set-up, replacing
// any earlier offer to the user.
func (s *Store) SaveTOTPSetup(ctx context.Context, userID int64, sealed []byte, expires time.Time) error {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO totp_setups (user_id, secret, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, expires_at = excluded.expires_at`), userID, sealed, ms(expires))
	if err != nil {
		return fmt.Errorf("store: saving TOTP set-up: %w", mapErr(err))
	}
	return nil
}

// TOTPSetup returns the user's pending set-up secret, or
// gatehouse.ErrNotFound when there is none or it expired by now.
func (s *Store) TOTPSetup(ctx context.Context, userID int64, now time.Time) ([]byte, error) {
	var sealed []byte
	err := s.read.QueryRowContext(ctx, s.q(`SELECT secret FROM totp_setups WHERE user_id = ? AND expires_at > ?`), userID, ms(now)).Scan(&sealed)
	if err != nil {
		return nil, mapErr(err)
	}
	return sealed, nil
}

// EnableTOTP installs the user's TOTP device (replacing any) with lastStep
// already used, replaces the backup codes and ends the pending set-up, in
// one transaction.
func (s *Store) EnableTOTP(ctx context.Context, userID int64, sealed []byte, lastStep int64, codeHashes []string, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO totp_devices (user_id, secret, last_step, created_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, last_step = excluded.last_step, created_at = excluded.created_at`),
			userID, sealed, lastStep, ms(now)); err != nil {
			return fmt.Errorf("store: enabling TOTP: %w", mapErr(err))
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM totp_setups WHERE user_id = ?`), userID); err != nil {
			return mapErr(err)
		}
		return s.replaceBackupCodes(ctx, tx, userID, codeHashes)
	})
}

// TOTPDevice returns the user's confirmed TOTP device, or
// gatehouse.ErrNotFound.
func (s *Store) TOTPDevice(ctx context.Context, userID int64) (*gatehouse.TOTPDevice, error) {
	d := gatehouse.TOTPDevice{UserID: userID}
	var created int64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT secret, last_step, created_at FROM totp_devices WHERE user_id = ?`), userID).
		Scan(&d.Sealed, &d.LastStep, &created)
	if err != nil {
		return nil, mapErr(err)
	}
	d.CreatedAt = fromMS(created)
	return &d, nil
}

// SetTOTPSecret replaces the sealed secret (re-sealed under a new key).
func (s *Store) SetTOTPSecret(ctx context.Context, userID int64, sealed []byte) error {
	_, err := s.write.ExecContext(ctx, s.q(`UPDATE totp_devices SET secret = ? WHERE user_id = ?`), sealed, userID)
	return mapErr(err)
}

// UseTOTPStep records step as the last used one only when it is later than
// the stored one, in one statement: of concurrent uses of a code, one wins.
func (s *Store) UseTOTPStep(ctx context.Context, userID int64, step int64) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE totp_devices SET last_step = ? WHERE user_id = ? AND last_step < ?`), step, userID, step)
	if err != nil {
		return false, mapErr(err)
	}
	return rowsAffected(res)
}

// ReplaceBackupCodes swaps the user's backup codes for new ones.
func (s *Store) ReplaceBackupCodes(ctx context.Context, userID int64, codeHashes []string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.replaceBackupCodes(ctx, tx, userID, codeHashes) })
}

func (s *Store) replaceBackupCodes(ctx context.Context, tx *sql.Tx, userID int64, codeHashes []string) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM backup_codes WHERE user_id = ?`), userID); err != nil {
		return mapErr(err)
	}
	for _, h := range codeHashes {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO backup_codes (user_id, code_hash) VALUES (?, ?)`), userID, h); err != nil {
			return fmt.Errorf("store: saving backup codes: %w", mapErr(err))
		}
	}
	return nil
}

// CountBackupCodes says how many unused backup codes the user has.
func (s *Store) CountBackupCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM backup_codes WHERE user_id = ?`), userID).Scan(&n)
	return n, mapErr(err)
}

// ConsumeBackupCode deletes one backup code and reports whether it was
// there: of concurrent uses of one code, exactly one sees true.
func (s *Store) ConsumeBackupCode(ctx context.Context, userID int64, codeHash string) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM backup_codes WHERE user_id = ? AND code_hash = ?`), userID, codeHash)
	if err != nil {
		return false, mapErr(err)
	}
	return rowsAffected(res)
}

// ResetTwoFactor removes every second factor and what depends on them:
// TOTP device and set-up, backup codes, remembered devices, pending logins,
// email links and passkey 2FA (the passkeys stay, for passwordless
// sign-in). hadTOTP reports whether a device existed.
func (s *Store) ResetTwoFactor(ctx context.Context, userID int64) (hadTOTP bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM totp_devices WHERE user_id = ?`), userID)
		if err != nil {
			return mapErr(err)
		}
		if hadTOTP, err = rowsAffected(res); err != nil {
			return err
		}
		for _, table := range []string{"totp_setups", "backup_codes", "remembered_devices", "pending_logins", "email_mfa_tokens", "passkey_two_factor"} {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE user_id = ?`), userID); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	return hadTOTP, err
}

// CreatePendingLogin stores a login waiting for its second step.
func (s *Store) CreatePendingLogin(ctx context.Context, keyHash string, p *gatehouse.PendingLogin) error {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO pending_logins (key_hash, user_id, method, created_at) VALUES (?, ?, ?, ?)`),
		keyHash, p.UserID, p.Method, ms(p.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: creating pending login: %w", mapErr(err))
	}
	return nil
}

// PendingLogin finds a pending login by its key hash, expired or not.
func (s *Store) PendingLogin(ctx context.Context, keyHash string) (*gatehouse.PendingLogin, error) {
	var p gatehouse.PendingLogin
	var created int64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT user_id, method, created_at FROM pending_logins WHERE key_hash = ?`), keyHash).
		Scan(&p.UserID, &p.Method, &created)
	if err != nil {
		return nil, mapErr(err)
	}
	p.CreatedAt = fromMS(created)
	return &p, nil
}

// DeletePendingLogin ends a pending login; a missing one is not an error.
func (s *Store) DeletePendingLogin(ctx context.Context, keyHash string) error {
	_, err := s.write.ExecContext(ctx, s.q(`DELETE FROM pending_logins WHERE key_hash = ?`), keyHash)
	return mapErr(err)
}

// DeleteExpiredPendingLogins removes pending logins created before cutoff.
func (s *Store) DeleteExpiredPendingLogins(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM pending_logins WHERE created_at < ?`), ms(cutoff))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

const rememberedColumns = `id, user_id, token_hash, password_mark, created_at, expires_at, last_used_at, client_ip, user_agent`

func scanRemembered(row interface{ Scan(...any) error }) (*gatehouse.RememberedDevice, error) {
	var d gatehouse.RememberedDevice
	var created, expires, used int64
	if err := row.Scan(&d.ID, &d.UserID, &d.TokenHash, &d.PasswordMark, &created, &expires, &used, &d.ClientIP, &d.UserAgent); err != nil {
		return nil, mapErr(err)
	}
	d.CreatedAt, d.ExpiresAt, d.LastUsedAt = fromMS(created), fromMS(expires), fromMS(used)
	return &d, nil
}

// CreateRememberedDevice stores a trusted browser.
func (s *Store) CreateRememberedDevice(ctx context.Context, d *gatehouse.RememberedDevice) error {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO remembered_devices (`+rememberedColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		d.ID, d.UserID, d.TokenHash, d.PasswordMark, ms(d.CreatedAt), ms(d.ExpiresAt), ms(d.LastUsedAt), d.ClientIP, d.UserAgent)
	if err != nil {
		return fmt.Errorf("store: remembering device: %w", mapErr(err))
	}
	return nil
}

// RememberedDevice finds a trusted browser by id, or gatehouse.ErrNotFound.
func (s *Store) RememberedDevice(ctx context.Context, id string) (*gatehouse.RememberedDevice, error) {
	return scanRemembered(s.read.QueryRowContext(ctx, s.q(`SELECT `+rememberedColumns+` FROM remembered_devices WHERE id = ?`), id))
}

// RememberedDevices lists a user's trusted browsers, newest first.
func (s *Store) RememberedDevices(ctx context.Context, userID int64) ([]gatehouse.RememberedDevice, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+rememberedColumns+` FROM remembered_devices WHERE user_id = ? ORDER BY created_at DESC, id`), userID)
	return appendRows(nil, rows, err, scanRemembered)
}

// TouchRememberedDevice records a use of a trusted browser.
func (s *Store) TouchRememberedDevice(ctx context.Context, id string, at time.Time) error {
	_, err := s.write.ExecContext(ctx, s.q(`UPDATE remembered_devices SET last_used_at = ? WHERE id = ?`), ms(at), id)
	return mapErr(err)
}

// DeleteRememberedDevice forgets one of the user's trusted browsers and
// reports whether there was one; another user's device is never touched.
func (s *Store) DeleteRememberedDevice(ctx context.Context, userID int64, id string) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM remembered_devices WHERE user_id = ? AND id = ?`), userID, id)
	if err != nil {
		return false, mapErr(err)
	}
	return rowsAffected(res)
}

// DeleteRememberedDevices forgets all of the user's trusted browsers.
func (s *Store) DeleteRememberedDevices(ctx context.Context, userID int64) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM remembered_devices WHERE user_id = ?`), userID)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// CreateEmailMFAToken stores the hash of an emailed sign-in link's token.
func (s *Store) CreateEmailMFAToken(ctx context.Context, tokenHash string, userID int64, expires time.Time) error {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO email_mfa_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)`), tokenHash, userID, ms(expires))
	if err != nil {
		return fmt.Errorf("store: saving email MFA token: %w", mapErr(err))
	}
	return nil
}

// ConsumeEmailMFAToken deletes an unexpired token of the user and reports
// whether there was one: a link works once.
func (s *Store) ConsumeEmailMFAToken(ctx context.Context, tokenHash string, userID int64, now time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM email_mfa_tokens WHERE token_hash = ? AND user_id = ? AND expires_at > ?`), tokenHash, userID, ms(now))
	if err != nil {
		return false, mapErr(err)
	}
	return rowsAffected(res)
}

// DeleteEmailMFATokens forgets every emailed link of the user.
func (s *Store) DeleteEmailMFATokens(ctx context.Context, userID int64) error {
	_, err := s.write.ExecContext(ctx, s.q(`DELETE FROM email_mfa_tokens WHERE user_id = ?`), userID)
	return mapErr(err)
}

// MarkSessionTwoFactorVerified records that a session passed a second
// factor; the mark goes with the session when it ends.
func (s *Store) MarkSessionTwoFactorVerified(ctx context.Context, sessionKeyHash string, at time.Time) error {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO two_factor_verified_sessions (session_key_hash, verified_at) VALUES (?, ?)
		ON CONFLICT (session_key_hash) DO UPDATE SET verified_at = excluded.verified_at`), sessionKeyHash, ms(at))
	return mapErr(err)
}

// SessionTwoFactorVerified reports whether a session passed a second
// factor.
func (s *Store) SessionTwoFactorVerified(ctx context.Context, sessionKeyHash string) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM two_factor_verified_sessions WHERE session_key_hash = ?`), sessionKeyHash).Scan(&n)
	return n > 0, mapErr(err)
}
