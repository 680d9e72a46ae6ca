package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// CreateOrganizationWithOwner creates an organization, its first project
// and its owner in one transaction, and makes them the owner's current
// organization and project. The first user of an instance becomes staff.
// The IDs and timestamps it assigns are written back into the arguments.
func (s *Store) CreateOrganizationWithOwner(ctx context.Context, org *gatehouse.Organization, project *gatehouse.Project, owner *gatehouse.User) error {
	return s.createOrganization(ctx, org, project, owner, false)
}

// CreateFirstOrganization is CreateOrganizationWithOwner that succeeds only
// while the instance has no organization (gatehouse.ErrSignupClosed
// otherwise); concurrent callers cannot both succeed.
func (s *Store) CreateFirstOrganization(ctx context.Context, org *gatehouse.Organization, project *gatehouse.Project, owner *gatehouse.User) error {
	return s.createOrganization(ctx, org, project, owner, true)
}

func (s *Store) createOrganization(ctx context.Context, org *gatehouse.Organization, project *gatehouse.Project, owner *gatehouse.User, firstOnly bool) error {
	now := time.Now().UTC()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if s.engine == Postgres {
			// Serialise organization creation (in this schema) so the
			// first-organization and first-user checks below cannot race.
			if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7291047, hashtext(current_schema()))"); err != nil {
				return err
			}
		}
		if firstOnly {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations`).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return gatehouse.ErrSignupClosed
			}
		}
		var users int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
			return err
		}
		if users == 0 {
			owner.IsStaff = true
		}
		if err := s.insertOrganization(ctx, tx, org, now); err != nil {
			return err
		}
		project.OrganizationID = org.ID
		if err := s.insertProject(ctx, tx, project, now); err != nil {
			return err
		}
		owner.CurrentOrganizationID = org.ID
		owner.CurrentProjectID = project.ID
		if err := s.insertUser(ctx, tx, owner, now); err != nil {
			return err
		}
		return s.insertMembership(ctx, tx, &gatehouse.Membership{OrganizationID: org.ID, UserID: owner.ID, Level: gatehouse.LevelOwner}, now)
	})
}

func (s *Store) insertOrganization(ctx context.Context, tx *sql.Tx, org *gatehouse.Organization, now time.Time) error {
	org.CreatedAt = now
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO organizations (id, name, enforce_2fa, members_can_use_personal_api_keys, session_cookie_age, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		org.ID, org.Name, org.Enforce2FA, org.MembersCanUsePersonalAPIKeys, nullInt(org.SessionCookieAge), now)
	if err != nil {
		return fmt.Errorf("store: inserting organization: %w", mapErr(err))
	}
	return nil
}

func (s *Store) insertProject(ctx context.Context, tx *sql.Tx, p *gatehouse.Project, now time.Time) error {
	p.CreatedAt = now
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO projects (organization_id, name, api_token, secret_api_token_hash, secret_api_token_mask, secret_api_token_backup_hash, secret_api_token_backup_mask, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		p.OrganizationID, p.Name, p.APIToken, p.SecretTokenHash, p.SecretTokenMask, nullString(p.SecretTokenBackupHash), p.SecretTokenBackupMask, now).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("store: inserting project: %w", mapErr(err))
	}
	return nil
}

func (s *Store) insertUser(ctx context.Context, tx *sql.Tx, u *gatehouse.User, now time.Time) error {
	u.CreatedAt = now
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO users (uuid, email, first_name, last_name, password_hash, is_active, is_staff, is_email_verified, current_organization_id, current_project_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		u.UUID, u.Email, u.FirstName, u.LastName, u.PasswordHash.Reveal(), u.IsActive, u.IsStaff, nullBool(u.IsEmailVerified), nullString(u.CurrentOrganizationID), nullInt64(u.CurrentProjectID), now).Scan(&u.ID)
	if err != nil {
		return fmt.Errorf("store: inserting user: %w", mapErr(err))
	}
	return nil
}

func (s *Store) insertMembership(ctx context.Context, tx *sql.Tx, m *gatehouse.Membership, now time.Time) error {
	m.CreatedAt = now
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO memberships (organization_id, user_id, level, created_at) VALUES (?, ?, ?, ?)`),
		m.OrganizationID, m.UserID, int(m.Level), now)
	if err != nil {
		return fmt.Errorf("store: inserting membership: %w", mapErr(err))
	}
	return nil
}

const userColumns = `id, uuid, email, first_name, last_name, password_hash, is_active, is_staff, is_email_verified, current_organization_id, current_project_id, created_at, pending_email`

func scanUser(row interface{ Scan(...any) error }) (*gatehouse.User, error) {
	var (
		u        gatehouse.User
		pw       string
		verified sql.NullBool
		org      sql.NullString
		project  sql.NullInt64
	)
	err := row.Scan(&u.ID, &u.UUID, &u.Email, &u.FirstName, &u.LastName, &pw, &u.IsActive, &u.IsStaff, &verified, &org, &project, &u.CreatedAt, &u.PendingEmail)
	if err != nil {
		return nil, mapErr(err)
	}
	u.PasswordHash = gatehouse.Secret(pw)
	if verified.Valid {
		u.IsEmailVerified = &verified.Bool
	}
	u.CurrentOrganizationID = org.String
	u.CurrentProjectID = project.Int64
	u.CreatedAt = u.CreatedAt.UTC()
	return &u, nil
}

// UserByEmail finds a user by email, ignoring case.
func (s *Store) UserByEmail(ctx context.Context, email string) (*gatehouse.User, error) {
	return scanUser(s.read.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM users WHERE lower(email) = lower(?)`), email))
}

// UserByUUID finds a user by UUID.
func (s *Store) UserByUUID(ctx context.Context, uuid string) (*gatehouse.User, error) {
	return scanUser(s.read.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM users WHERE uuid = ?`), uuid))
}

// OrganizationByID finds an organization.
func (s *Store) OrganizationByID(ctx context.Context, id string) (*gatehouse.Organization, error) {
	var (
		o   gatehouse.Organization
		age sql.NullInt64
	)
	err := s.read.QueryRowContext(ctx, s.q(`SELECT id, name, enforce_2fa, members_can_use_personal_api_keys, session_cookie_age, created_at FROM organizations WHERE id = ?`), id).
		Scan(&o.ID, &o.Name, &o.Enforce2FA, &o.MembersCanUsePersonalAPIKeys, &age, &o.CreatedAt)
	if err != nil {
		return nil, mapErr(err)
	}
	if age.Valid {
		v := int(age.Int64)
		o.SessionCookieAge = &v
	}
	o.CreatedAt = o.CreatedAt.UTC()
	return &o, nil
}

// CountOrganizations returns how many organizations exist.
func (s *Store) CountOrganizations(ctx context.Context) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations`).Scan(&n)
	return n, err
}

// MembershipsOfUser lists the user's memberships.
func (s *Store) MembershipsOfUser(ctx context.Context, userID int64) ([]gatehouse.Membership, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT organization_id, user_id, level, created_at FROM memberships WHERE user_id = ? ORDER BY created_at, organization_id`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.Membership
	for rows.Next() {
		var m gatehouse.Membership
		var level int
		if err := rows.Scan(&m.OrganizationID, &m.UserID, &level, &m.CreatedAt); err != nil {
			return nil, err
		}
		m.Level = gatehouse.MembershipLevel(level)
		m.CreatedAt = m.CreatedAt.UTC()
		out = append(out, m)
	}
	return out, rows.Err()
}

const projectColumns = `id, organization_id, name, api_token, secret_api_token_hash, secret_api_token_mask, secret_api_token_backup_hash, secret_api_token_backup_mask, created_at`

func scanProject(row interface{ Scan(...any) error }) (*gatehouse.Project, error) {
	var (
		p      gatehouse.Project
		backup sql.NullString
	)
	err := row.Scan(&p.ID, &p.OrganizationID, &p.Name, &p.APIToken, &p.SecretTokenHash, &p.SecretTokenMask, &backup, &p.SecretTokenBackupMask, &p.CreatedAt)
	if err != nil {
		return nil, mapErr(err)
	}
	p.SecretTokenBackupHash = backup.String
	p.CreatedAt = p.CreatedAt.UTC()
	return &p, nil
}

// ProjectByAPIToken finds the project whose public token is token.
func (s *Store) ProjectByAPIToken(ctx context.Context, token string) (*gatehouse.Project, error) {
	return scanProject(s.read.QueryRowContext(ctx, s.q(`SELECT `+projectColumns+` FROM projects WHERE api_token = ?`), token))
}

// ProjectByID finds a project.
func (s *Store) ProjectByID(ctx context.Context, id int64) (*gatehouse.Project, error) {
	return scanProject(s.read.QueryRowContext(ctx, s.q(`SELECT `+projectColumns+` FROM projects WHERE id = ?`), id))
}

// IsNotFound reports whether err means a row does not exist.
func IsNotFound(err error) bool { return errors.Is(err, gatehouse.ErrNotFound) }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }
func nullInt64(n int64) sql.NullInt64    { return sql.NullInt64{Int64: n, Valid: n != 0} }
func nullInt(p *int) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*p), Valid: true}
}
func nullBool(p *bool) sql.NullBool {
	if p == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *p, Valid: true}
}

// UserByID finds a user by primary key.
func (s *Store) UserByID(ctx context.Context, id int64) (*gatehouse.User, error) {
	return scanUser(s.read.QueryRowContext(ctx, s.q(`SELECT `+userColumns+` FROM users WHERE id = ?`), id))
}

// SetPasswordHash replaces a user's password hash.
func (s *Store) SetPasswordHash(ctx context.Context, userID int64, hash gatehouse.Secret) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE users SET password_hash = ? WHERE id = ?`), hash.Reveal(), userID)
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// UpdateUserNames sets a user's first and last name.
func (s *Store) UpdateUserNames(ctx context.Context, userID int64, first, last string) error {
	_, err := s.write.ExecContext(ctx, s.q(`UPDATE users SET first_name = ?, last_name = ? WHERE id = ?`), first, last, userID)
	return mapErr(err)
}

// SetEmailVerified marks a user's email verified and reports whether it
// was not already.
func (s *Store) SetEmailVerified(ctx context.Context, userID int64) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE users SET is_email_verified = ? WHERE id = ? AND (is_email_verified IS NULL OR is_email_verified = ?)`), true, userID, false)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
