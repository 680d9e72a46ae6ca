package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// PendingEmail is the address the user's email change waits to confirm
// ("" for none) and when it was requested (unix milliseconds).
func (s *Store) PendingEmail(ctx context.Context, userID int64) (string, int64, error) {
	var email string
	var at int64
	err := s.read.QueryRowContext(ctx, s.q(`SELECT pending_email, pending_email_at FROM users WHERE id = ?`), userID).Scan(&email, &at)
	return email, at, mapErr(err)
}

// SetPendingEmail records an email change waiting for confirmation; it
// replaces any earlier one.
func (s *Store) SetPendingEmail(ctx context.Context, userID int64, email string, requestedAt int64) error {
	_, err := s.execAudited(ctx, s.q(`UPDATE users SET pending_email = ?, pending_email_at = ? WHERE id = ?`), email, requestedAt, userID)
	return mapErr(err)
}

// ConfirmEmailChange makes the pending address the user's email, verified,
// only while the user still has oldEmail and that request pending
// (gatehouse.ErrNotFound otherwise); gatehouse.ErrConflict when another
// account has the address.
func (s *Store) ConfirmEmailChange(ctx context.Context, userID int64, oldEmail, newEmail string, requestedAt int64) error {
	res, err := s.execAudited(ctx, s.q(`UPDATE users SET email = ?, is_email_verified = ?, pending_email = '', pending_email_at = 0
		WHERE id = ? AND email = ? AND pending_email = ? AND pending_email_at = ?`), newEmail, true, userID, oldEmail, newEmail, requestedAt)
	if err != nil {
		return mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// DeleteAccount deletes a user and, by the schema's cascades, their
// sessions, keys, passkeys, second factors, trusted devices and social
// links, with the organizations they are the only member of. It refuses
// (gatehouse.ErrLastOwner) when the user is the only owner of an
// organization with other members; the organizations are locked so that
// nobody joins or is promoted meanwhile.
func (s *Store) DeleteAccount(ctx context.Context, userID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.engine == Postgres {
			if _, err := tx.ExecContext(ctx, s.q(`SELECT id FROM organizations WHERE id IN (SELECT organization_id FROM memberships WHERE user_id = ?) ORDER BY id FOR UPDATE`), userID); err != nil {
				return err
			}
		}
		rows, err := tx.QueryContext(ctx, s.q(`SELECT m.organization_id, m.level,
			(SELECT COUNT(*) FROM memberships o WHERE o.organization_id = m.organization_id),
			(SELECT COUNT(*) FROM memberships o WHERE o.organization_id = m.organization_id AND o.level = ?)
			FROM memberships m WHERE m.user_id = ?`), int(gatehouse.LevelOwner), userID)
		if err != nil {
			return fmt.Errorf("store: reading memberships: %w", err)
		}
		var alone []string
		lastOwner := false
		for rows.Next() {
			var org string
			var level, members, owners int
			if err := rows.Scan(&org, &level, &members, &owners); err != nil {
				rows.Close()
				return err
			}
			switch {
			case members == 1:
				alone = append(alone, org)
			case gatehouse.MembershipLevel(level) == gatehouse.LevelOwner && owners == 1:
				lastOwner = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if lastOwner {
			return gatehouse.ErrLastOwner
		}
		for _, org := range alone {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM organizations WHERE id = ?`), org); err != nil {
				return fmt.Errorf("store: deleting organization: %w", mapErr(err))
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM users WHERE id = ?`), userID)
		if err != nil {
			return fmt.Errorf("store: deleting user: %w", mapErr(err))
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return gatehouse.ErrNotFound
		}
		return nil
	})
}
