package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Passkeys (migration 0014). Times are Unix milliseconds.

const passkeyColumns = `id, user_id, credential_id, label, public_key, algorithm, sign_count, transports, verified,
	backup_eligible, backup_state, aaguid, attestation_type, created_at, last_used_at`

func scanPasskey(row interface{ Scan(...any) error }) (*gatehouse.Passkey, error) {
	var p gatehouse.Passkey
	var count, created int64
	var transports string
	var used sql.NullInt64
	if err := row.Scan(&p.ID, &p.UserID, &p.CredentialID, &p.Label, &p.PublicKey, &p.Algorithm, &count, &transports, &p.Verified,
		&p.BackupEligible, &p.BackupState, &p.AAGUID, &p.AttestationType, &created, &used); err != nil {
		return nil, mapErr(err)
	}
	p.SignCount = uint32(count)
	p.Transports = []string{}
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	p.CreatedAt = fromMS(created)
	if used.Valid {
		t := fromMS(used.Int64)
		p.LastUsedAt = &t
	}
	return &p, nil
}

// CreatePasskey stores a new passkey and sets its ID. A credential id that
// is already registered, to anyone, is gatehouse.ErrConflict.
func (s *Store) CreatePasskey(ctx context.Context, p *gatehouse.Passkey) error {
	// In a transaction so the audit events attached to ctx commit with it.
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, s.q(`INSERT INTO webauthn_credentials (user_id, credential_id, label, public_key, algorithm, sign_count,
		transports, verified, backup_eligible, backup_state, aaguid, attestation_type, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			p.UserID, p.CredentialID, p.Label, p.PublicKey, p.Algorithm, int64(p.SignCount), strings.Join(p.Transports, ","), p.Verified,
			p.BackupEligible, p.BackupState, p.AAGUID, p.AttestationType, ms(p.CreatedAt)).Scan(&p.ID)
	})
	if err != nil {
		return fmt.Errorf("store: creating passkey: %w", mapErr(err))
	}
	return nil
}

// Passkeys lists the user's passkeys, oldest first.
func (s *Store) Passkeys(ctx context.Context, userID int64) ([]gatehouse.Passkey, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+passkeyColumns+` FROM webauthn_credentials WHERE user_id = ? ORDER BY id`), userID)
	return appendRows(nil, rows, err, scanPasskey)
}

// Passkey finds one of the user's passkeys, or gatehouse.ErrNotFound;
// another user's passkey is never found.
func (s *Store) Passkey(ctx context.Context, userID, id int64) (*gatehouse.Passkey, error) {
	return scanPasskey(s.read.QueryRowContext(ctx, s.q(`SELECT `+passkeyColumns+` FROM webauthn_credentials WHERE user_id = ? AND id = ?`), userID, id))
}

// UsePasskey records a signature with counter signCount only when it moves
// the stored counter forward, or both are 0 (authenticators without a
// counter), in one conditional update: of two uses of one counter value,
// exactly one succeeds. verify also marks the passkey verified.
func (s *Store) UsePasskey(ctx context.Context, id int64, signCount uint32, backupState, verify bool, at time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE webauthn_credentials SET sign_count = ?, backup_state = ?, last_used_at = ?,
		verified = (verified OR ?) WHERE id = ? AND (sign_count < ? OR (sign_count = 0 AND ? = 0))`),
		int64(signCount), backupState, ms(at), verify, id, int64(signCount), int64(signCount))
	if err != nil {
		return false, mapErr(err)
	}
	return rowsAffected(res)
}

// RenamePasskey changes the label of one of the user's passkeys and
// reports whether there was one.
func (s *Store) RenamePasskey(ctx context.Context, userID, id int64, label string) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE webauthn_credentials SET label = ? WHERE user_id = ? AND id = ?`), label, userID, id)
	if err != nil {
		return false, mapErr(err)
	}
	return rowsAffected(res)
}

// DeletePasskey removes one of the user's passkeys. When no verified
// passkey is left, passkey 2FA is turned off in the same transaction;
// twoFactorOff reports that it was on.
func (s *Store) DeletePasskey(ctx context.Context, userID, id int64) (deleted, twoFactorOff bool, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM webauthn_credentials WHERE user_id = ? AND id = ?`), userID, id)
		if err != nil {
			return mapErr(err)
		}
		if deleted, err = rowsAffected(res); err != nil || !deleted {
			return err
		}
		res, err = tx.ExecContext(ctx, s.q(`DELETE FROM passkey_two_factor WHERE user_id = ?
			AND NOT EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = ? AND verified)`), userID, userID)
		if err != nil {
			return mapErr(err)
		}
		twoFactorOff, err = rowsAffected(res)
		return err
	})
	return deleted, twoFactorOff, err
}

// EnablePasskeyTwoFactor turns passkey 2FA on when the user has a verified
// passkey (checked in the same statement) and reports whether it is on.
func (s *Store) EnablePasskeyTwoFactor(ctx context.Context, userID int64, at time.Time) (bool, error) {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO passkey_two_factor (user_id, enabled_at)
		SELECT ?, ? WHERE EXISTS (SELECT 1 FROM webauthn_credentials WHERE user_id = ? AND verified)
		ON CONFLICT (user_id) DO NOTHING`), userID, ms(at), userID)
	if err != nil {
		return false, mapErr(err)
	}
	return s.PasskeyTwoFactor(ctx, userID)
}

// DisablePasskeyTwoFactor turns passkey 2FA off and reports whether it was
// on.
func (s *Store) DisablePasskeyTwoFactor(ctx context.Context, userID int64) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM passkey_two_factor WHERE user_id = ?`), userID)
	if err != nil {
		return false, mapErr(err)
	}
	return rowsAffected(res)
}

// PasskeyTwoFactor reports whether passkeys_enabled_for_2fa is set.
func (s *Store) PasskeyTwoFactor(ctx context.Context, userID int64) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM passkey_two_factor WHERE user_id = ?`), userID).Scan(&n)
	return n > 0, mapErr(err)
}

// SaveWebAuthnChallenge stores a challenge under the hash of its cookie's
// key.
func (s *Store) SaveWebAuthnChallenge(ctx context.Context, keyHash string, c *gatehouse.PasskeyChallenge) error {
	var user any
	if c.UserID != 0 {
		user = c.UserID
	}
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO webauthn_challenges (key_hash, purpose, user_id, credential, ceremony, expires_at) VALUES (?, ?, ?, ?, ?, ?)`),
		keyHash, c.Purpose, user, c.CredentialRef, string(c.Ceremony), ms(c.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: saving WebAuthn challenge: %w", mapErr(err))
	}
	return nil
}

// ConsumeWebAuthnChallenge deletes and returns the unexpired challenge of
// keyHash for purpose in one statement, or gatehouse.ErrNotFound: a
// challenge is answered once, even by concurrent requests.
func (s *Store) ConsumeWebAuthnChallenge(ctx context.Context, keyHash, purpose string, now time.Time) (*gatehouse.PasskeyChallenge, error) {
	c := gatehouse.PasskeyChallenge{Purpose: purpose}
	var user sql.NullInt64
	var ceremony string
	var expires int64
	err := s.write.QueryRowContext(ctx, s.q(`DELETE FROM webauthn_challenges WHERE key_hash = ? AND purpose = ? AND expires_at > ?
		RETURNING user_id, credential, ceremony, expires_at`), keyHash, purpose, ms(now)).Scan(&user, &c.CredentialRef, &ceremony, &expires)
	if err != nil {
		return nil, mapErr(err)
	}
	c.UserID, c.Ceremony, c.ExpiresAt = user.Int64, []byte(ceremony), fromMS(expires)
	return &c, nil
}

// DeleteExpiredWebAuthnChallenges sweeps challenges that can no longer be
// answered and returns how many it removed.
func (s *Store) DeleteExpiredWebAuthnChallenges(ctx context.Context, now time.Time) (int64, error) {
	return s.deleteCount(ctx, `DELETE FROM webauthn_challenges WHERE expires_at <= ?`, ms(now))
}
