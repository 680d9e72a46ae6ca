package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// memberUserColumns are userColumns qualified for a join with memberships.
var memberUserColumns = "u." + strings.ReplaceAll(userColumns, ", ", ", u.")

// memberSelect reads a member: the user, the membership and the flags the
// members API shows (a second factor, a social link).
const memberSelectTail = `, m.level, m.created_at, m.updated_at,
	EXISTS (SELECT 1 FROM totp_devices t WHERE t.user_id = u.id),
	EXISTS (SELECT 1 FROM passkey_two_factor p WHERE p.user_id = u.id) AND EXISTS (SELECT 1 FROM webauthn_credentials w WHERE w.user_id = u.id),
	EXISTS (SELECT 1 FROM social_links sl WHERE sl.user_id = u.id)
	FROM memberships m JOIN users u ON u.id = m.user_id`

func (s *Store) scanMember(ctx context.Context, row interface{ Scan(...any) error }) (*gatehouse.Member, error) {
	var (
		m                     gatehouse.Member
		u                     gatehouse.User
		pw                    string
		verified              sql.NullBool
		org                   sql.NullString
		project               sql.NullInt64
		level                 int
		updated               sql.NullTime
		totp, passkey, social bool
	)
	err := row.Scan(&u.ID, &u.UUID, &u.Email, &u.FirstName, &u.LastName, &pw, &u.IsActive, &u.IsStaff, &verified, &org, &project, &u.CreatedAt, &u.PendingEmail,
		&level, &m.JoinedAt, &updated, &totp, &passkey, &social)
	if err != nil {
		return nil, mapErr(err)
	}
	if verified.Valid {
		u.IsEmailVerified = &verified.Bool
	}
	u.CurrentOrganizationID, u.CurrentProjectID, u.CreatedAt = org.String, project.Int64, u.CreatedAt.UTC()
	m.User, m.Level, m.JoinedAt = u, gatehouse.MembershipLevel(level), m.JoinedAt.UTC()
	m.UpdatedAt = m.JoinedAt
	if updated.Valid {
		m.UpdatedAt = updated.Time.UTC()
	}
	m.TwoFactor, m.HasSocialAuth = totp || passkey, social
	return &m, nil
}

// lastLogin is the start of the user's newest session, zero when none.
func (s *Store) lastLogin(ctx context.Context, userID int64) (time.Time, error) {
	var t time.Time
	err := s.read.QueryRowContext(ctx, s.q(`SELECT created_at FROM sessions WHERE user_id = ? ORDER BY created_at DESC LIMIT 1`), userID).Scan(&t)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return t.UTC(), err
}

// OrganizationMembers lists an organization's active members, the newest
// first, and how many there are in all.
func (s *Store) OrganizationMembers(ctx context.Context, orgID string, limit, offset int) ([]gatehouse.Member, int, error) {
	var total int
	if err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = ? AND u.is_active`), orgID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: counting members: %w", err)
	}
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+memberUserColumns+memberSelectTail+` WHERE m.organization_id = ? AND u.is_active ORDER BY m.created_at DESC, u.id DESC LIMIT ? OFFSET ?`), orgID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("store: listing members: %w", err)
	}
	defer rows.Close()
	out := []gatehouse.Member{}
	for rows.Next() {
		m, err := s.scanMember(ctx, rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, *m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	rows.Close()
	for i := range out {
		if out[i].LastLoginAt, err = s.lastLogin(ctx, out[i].User.ID); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// OrganizationMember finds one member of orgID by user UUID.
func (s *Store) OrganizationMember(ctx context.Context, orgID, userUUID string) (*gatehouse.Member, error) {
	m, err := s.scanMember(ctx, s.read.QueryRowContext(ctx, s.q(`SELECT `+memberUserColumns+memberSelectTail+` WHERE m.organization_id = ? AND u.uuid = ?`), orgID, userUUID))
	if err != nil {
		return nil, err
	}
	if m.LastLoginAt, err = s.lastLogin(ctx, m.User.ID); err != nil {
		return nil, err
	}
	return m, nil
}

// lockOrganization serialises membership changes of one organization on
// PostgreSQL (SQLite's immediate transactions serialise all writes), so
// that the owner count read in the transaction stays true until commit.
func (s *Store) lockOrganization(ctx context.Context, tx *sql.Tx, orgID string) error {
	if s.engine != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q(`SELECT id FROM organizations WHERE id = ? FOR UPDATE`), orgID)
	return err
}

// SetMembershipLevel changes a member's level; gatehouse.ErrLastOwner when
// it would leave the organization without an owner, ErrNotFound when the
// user is not a member.
func (s *Store) SetMembershipLevel(ctx context.Context, orgID string, userID int64, level gatehouse.MembershipLevel, now time.Time) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockOrganization(ctx, tx, orgID); err != nil {
			return err
		}
		var current int
		err := tx.QueryRowContext(ctx, s.q(`SELECT level FROM memberships WHERE organization_id = ? AND user_id = ?`), orgID, userID).Scan(&current)
		if err != nil {
			return mapErr(err)
		}
		if gatehouse.MembershipLevel(current) == gatehouse.LevelOwner && level != gatehouse.LevelOwner {
			var owners int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM memberships WHERE organization_id = ? AND level = ?`), orgID, int(gatehouse.LevelOwner)).Scan(&owners); err != nil {
				return err
			}
			if owners <= 1 {
				return gatehouse.ErrLastOwner
			}
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE memberships SET level = ?, updated_at = ? WHERE organization_id = ? AND user_id = ?`), int(level), now.UTC(), orgID, userID)
		return mapErr(err)
	})
}

// RemoveMembership deletes a membership that is not an owner's
// (gatehouse.ErrLastOwner for an owner, ErrNotFound when there is none).
// When the organization, or a project of it, was the user's current one,
// the user moves to their first remaining organization and its first
// project, or to none.
func (s *Store) RemoveMembership(ctx context.Context, orgID string, userID int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockOrganization(ctx, tx, orgID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM memberships WHERE organization_id = ? AND user_id = ? AND level <> ?`), orgID, userID, int(gatehouse.LevelOwner))
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			var level int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT level FROM memberships WHERE organization_id = ? AND user_id = ?`), orgID, userID).Scan(&level); err != nil {
				return mapErr(err)
			}
			return gatehouse.ErrLastOwner
		}
		var next sql.NullString
		var project sql.NullInt64
		err = tx.QueryRowContext(ctx, s.q(`SELECT organization_id FROM memberships WHERE user_id = ? ORDER BY created_at, organization_id LIMIT 1`), userID).Scan(&next)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if next.Valid {
			err = tx.QueryRowContext(ctx, s.q(`SELECT id FROM projects WHERE organization_id = ? ORDER BY id LIMIT 1`), next.String).Scan(&project)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE users SET current_organization_id = ?, current_project_id = ? WHERE id = ?
			AND (current_organization_id = ? OR current_project_id IN (SELECT id FROM projects WHERE organization_id = ?))`),
			next, project, userID, orgID, orgID)
		return mapErr(err)
	})
}

// SetCurrentOrganization makes orgID and projectID (0: none) the user's
// current organization and project.
func (s *Store) SetCurrentOrganization(ctx context.Context, userID int64, orgID string, projectID int64) error {
	_, err := s.write.ExecContext(ctx, s.q(`UPDATE users SET current_organization_id = ?, current_project_id = ? WHERE id = ?`), nullString(orgID), nullInt64(projectID), userID)
	return mapErr(err)
}
