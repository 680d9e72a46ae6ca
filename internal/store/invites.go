package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

const inviteColumns = `i.id, i.organization_id, i.target_email, i.first_name, i.level, i.created_by_user_id, u.uuid, u.email, i.created_at, i.expires_at, i.used_at`

const inviteFrom = ` FROM invites i LEFT JOIN users u ON u.id = i.created_by_user_id`

func scanInvite(row interface{ Scan(...any) error }) (*gatehouse.Invite, error) {
	var (
		inv          gatehouse.Invite
		level        int
		createdBy    sql.NullInt64
		byUUID, byEm sql.NullString
		expires      int64
		used         sql.NullInt64
	)
	err := row.Scan(&inv.ID, &inv.OrganizationID, &inv.TargetEmail, &inv.FirstName, &level, &createdBy, &byUUID, &byEm, &inv.CreatedAt, &expires, &used)
	if err != nil {
		return nil, mapErr(err)
	}
	inv.Level = gatehouse.MembershipLevel(level)
	inv.CreatedByUserID = createdBy.Int64
	inv.CreatedByUUID, inv.CreatedByEmail = byUUID.String, byEm.String
	inv.CreatedAt = inv.CreatedAt.UTC()
	inv.ExpiresAt = time.UnixMilli(expires).UTC()
	if used.Valid {
		inv.UsedAt = time.UnixMilli(used.Int64).UTC()
	}
	return &inv, nil
}

// CreateInvite stores inv and, in the same transaction, deletes any pending
// invite to the same organization and email (ignoring case), so a second
// invite replaces the first.
func (s *Store) CreateInvite(ctx context.Context, inv *gatehouse.Invite) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM invites WHERE organization_id = ? AND lower(target_email) = lower(?) AND used_at IS NULL`),
			inv.OrganizationID, inv.TargetEmail); err != nil {
			return fmt.Errorf("store: replacing invite: %w", mapErr(err))
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO invites (id, organization_id, target_email, first_name, level, created_by_user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
			inv.ID, inv.OrganizationID, inv.TargetEmail, inv.FirstName, int(inv.Level), nullInt64(inv.CreatedByUserID), inv.CreatedAt.UTC(), inv.ExpiresAt.UnixMilli())
		if err != nil {
			return fmt.Errorf("store: inserting invite: %w", mapErr(err))
		}
		return nil
	})
}

// ListPendingInvites lists the organization's invites that are neither
// used nor expired at now, newest first.
func (s *Store) ListPendingInvites(ctx context.Context, orgID string, now time.Time) ([]gatehouse.Invite, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+inviteColumns+inviteFrom+` WHERE i.organization_id = ? AND i.used_at IS NULL AND i.expires_at > ? ORDER BY i.expires_at DESC, i.id`),
		orgID, now.UnixMilli())
	return appendRows(nil, rows, err, scanInvite)
}

// DeleteInvite deletes one of the organization's invites and reports
// whether there was one; another organization's invite is never touched.
func (s *Store) DeleteInvite(ctx context.Context, orgID, id string) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM invites WHERE organization_id = ? AND id = ?`), orgID, id)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// InviteByID finds an invite, pending or not.
func (s *Store) InviteByID(ctx context.Context, id string) (*gatehouse.Invite, error) {
	return scanInvite(s.read.QueryRowContext(ctx, s.q(`SELECT `+inviteColumns+inviteFrom+` WHERE i.id = ?`), id))
}

// AcceptInvite consumes the invite and creates user as a member of the
// invite's organization at its level, with that organization and its first
// project as current, all in one transaction. The invite is marked used by
// a conditional update, so of concurrent accepts exactly one succeeds; the
// others get gatehouse.ErrInviteInvalid, as do missing, used and expired
// invites. A taken email is gatehouse.ErrConflict and leaves the invite
// pending.
func (s *Store) AcceptInvite(ctx context.Context, inviteID string, now time.Time, user *gatehouse.User) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		orgID, level, projectID, err := s.consumeInvite(ctx, tx, inviteID, now)
		if err != nil {
			return err
		}
		user.CurrentOrganizationID = orgID
		user.CurrentProjectID = projectID
		if err := s.insertUser(ctx, tx, user, now.UTC()); err != nil {
			return err
		}
		return s.insertMembership(ctx, tx, &gatehouse.Membership{OrganizationID: orgID, UserID: user.ID, Level: level}, now.UTC())
	})
}

// JoinByInvite consumes the invite and makes an existing user a member of
// its organization at its level, with that organization and its first
// project as current, in one transaction. Like AcceptInvite, of concurrent
// uses exactly one succeeds (the others get gatehouse.ErrInviteInvalid);
// a user who is already a member gets gatehouse.ErrConflict and the invite
// stays pending.
func (s *Store) JoinByInvite(ctx context.Context, inviteID string, now time.Time, userID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		orgID, level, projectID, err := s.consumeInvite(ctx, tx, inviteID, now)
		if err != nil {
			return err
		}
		if err := s.insertMembership(ctx, tx, &gatehouse.Membership{OrganizationID: orgID, UserID: userID, Level: level}, now.UTC()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE users SET current_organization_id = ?, current_project_id = ? WHERE id = ?`),
			orgID, sql.NullInt64{Int64: projectID, Valid: projectID != 0}, userID); err != nil {
			return fmt.Errorf("store: switching to the joined organization: %w", mapErr(err))
		}
		return nil
	})
}

// consumeInvite marks a pending invite used, by a conditional update so
// that of concurrent uses exactly one gets it, and returns its
// organization, level and that organization's first project (0: none).
// A missing, used or expired invite is gatehouse.ErrInviteInvalid.
func (s *Store) consumeInvite(ctx context.Context, tx *sql.Tx, inviteID string, now time.Time) (orgID string, level gatehouse.MembershipLevel, projectID int64, err error) {
	var lvl int
	err = tx.QueryRowContext(ctx, s.q(`UPDATE invites SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ? RETURNING organization_id, level`),
		now.UnixMilli(), inviteID, now.UnixMilli()).Scan(&orgID, &lvl)
	if errors.Is(err, sql.ErrNoRows) {
		return "", 0, 0, gatehouse.ErrInviteInvalid
	}
	if err != nil {
		return "", 0, 0, fmt.Errorf("store: consuming invite: %w", mapErr(err))
	}
	err = tx.QueryRowContext(ctx, s.q(`SELECT id FROM projects WHERE organization_id = ? ORDER BY id LIMIT 1`), orgID).Scan(&projectID)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", 0, 0, fmt.Errorf("store: finding first project: %w", mapErr(err))
	}
	return orgID, gatehouse.MembershipLevel(lvl), projectID, nil
}

// IsMember reports whether a user with email (ignoring case) belongs to
// the organization.
func (s *Store) IsMember(ctx context.Context, orgID, email string) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = ? AND lower(u.email) = lower(?)`),
		orgID, email).Scan(&n)
	if err != nil {
		return false, mapErr(err)
	}
	return n > 0, nil
}
