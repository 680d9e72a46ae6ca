package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

const socialLinkColumns = `id, user_id, provider, uid, email, created_at`

func scanSocialLink(row interface{ Scan(...any) error }) (*gatehouse.SocialLink, error) {
	var (
		l       gatehouse.SocialLink
		created int64
	)
	if err := row.Scan(&l.ID, &l.UserID, &l.Backend, &l.UID, &l.Email, &created); err != nil {
		return nil, mapErr(err)
	}
	l.CreatedAt = time.UnixMilli(created).UTC()
	return &l, nil
}

// SocialLinkByUID finds the link of the identity uid at provider backend.
func (s *Store) SocialLinkByUID(ctx context.Context, backend, uid string) (*gatehouse.SocialLink, error) {
	return scanSocialLink(s.read.QueryRowContext(ctx, s.q(`SELECT `+socialLinkColumns+` FROM social_links WHERE provider = ? AND uid = ?`), backend, uid))
}

// CreateSocialLink stores a link; gatehouse.ErrConflict when the identity
// is linked already.
func (s *Store) CreateSocialLink(ctx context.Context, l *gatehouse.SocialLink) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.insertSocialLink(ctx, tx, l) })
}

func (s *Store) insertSocialLink(ctx context.Context, tx *sql.Tx, l *gatehouse.SocialLink) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO social_links (id, user_id, provider, uid, email, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		l.ID, l.UserID, l.Backend, l.UID, l.Email, l.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: inserting social link: %w", mapErr(err))
	}
	return nil
}

// SocialLinksOfUser lists a user's links, oldest first.
func (s *Store) SocialLinksOfUser(ctx context.Context, userID int64) ([]gatehouse.SocialLink, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+socialLinkColumns+` FROM social_links WHERE user_id = ? ORDER BY created_at, id`), userID)
	return appendRows(nil, rows, err, scanSocialLink)
}

// DeleteSocialLink deletes one of the user's links. With keepOne it deletes
// only while the user has another link; the user's row is locked first
// (PostgreSQL; SQLite writes take turns anyway), so two concurrent unlinks
// of a user's last two links cannot both succeed.
func (s *Store) DeleteSocialLink(ctx context.Context, userID int64, linkID string, keepOne bool) (bool, error) {
	deleted := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.engine == Postgres {
			var id int64
			if err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM users WHERE id = ? FOR UPDATE`), userID).Scan(&id); err != nil {
				return mapErr(err)
			}
		}
		if keepOne {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM social_links WHERE user_id = ?`), userID).Scan(&n); err != nil {
				return err
			}
			if n < 2 {
				return nil
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM social_links WHERE id = ? AND user_id = ?`), linkID, userID)
		if err != nil {
			return mapErr(err)
		}
		n, err := res.RowsAffected()
		deleted = n > 0
		return err
	})
	if errors.Is(err, gatehouse.ErrNotFound) {
		return false, nil
	}
	return deleted, err
}

// ClaimForSSO makes the user's password unusable, marks the email
// verified and revokes every way into the account (sessions, personal API
// keys, trusted devices, and passkeys and second factors of an account
// awaiting verification: see revokeAccountAccess), in one transaction: the
// owner of the address proved it through a provider, and whoever set the
// password before may not keep a way in. revokedKeys are the labels of
// the deleted personal API keys.
func (s *Store) ClaimForSSO(ctx context.Context, userID int64) (revokedKeys []string, err error) {
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Revoke first: what goes depends on the verification state the
		// account had before the provider proved the address.
		if revokedKeys, err = s.revokeAccountAccess(ctx, tx, userID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE users SET password_hash = '', is_email_verified = ? WHERE id = ?`), true, userID)
		if err != nil {
			return mapErr(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return gatehouse.ErrNotFound
		}
		return nil
	})
	return revokedKeys, err
}

// CreateSSOUser creates user as a member of orgID at level, with that
// organization and its first project current, and link to the new user,
// in one transaction.
func (s *Store) CreateSSOUser(ctx context.Context, user *gatehouse.User, orgID string, level gatehouse.MembershipLevel, link *gatehouse.SocialLink) error {
	now := time.Now().UTC()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var projectID sql.NullInt64
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM projects WHERE organization_id = ? ORDER BY id LIMIT 1`), orgID).Scan(&projectID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: finding first project: %w", mapErr(err))
		}
		user.CurrentOrganizationID = orgID
		user.CurrentProjectID = projectID.Int64
		if err := s.insertUser(ctx, tx, user, now); err != nil {
			return err
		}
		if err := s.insertMembership(ctx, tx, &gatehouse.Membership{OrganizationID: orgID, UserID: user.ID, Level: level}, now); err != nil {
			return err
		}
		if link == nil {
			return nil
		}
		link.UserID = user.ID
		return s.insertSocialLink(ctx, tx, link)
	})
}

// AddMembership makes an existing user a member of orgID at level, and
// makes the organization current when the user has none;
// gatehouse.ErrConflict when the user is a member already.
func (s *Store) AddMembership(ctx context.Context, userID int64, orgID string, level gatehouse.MembershipLevel) error {
	now := time.Now().UTC()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.insertMembership(ctx, tx, &gatehouse.Membership{OrganizationID: orgID, UserID: userID, Level: level}, now); err != nil {
			return err
		}
		var projectID sql.NullInt64
		err := tx.QueryRowContext(ctx, s.q(`SELECT id FROM projects WHERE organization_id = ? ORDER BY id LIMIT 1`), orgID).Scan(&projectID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: finding first project: %w", mapErr(err))
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE users SET current_organization_id = ?, current_project_id = ? WHERE id = ? AND current_organization_id IS NULL`), orgID, projectID, userID)
		return mapErr(err)
	})
}
