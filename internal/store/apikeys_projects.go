package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// UpdateOrganization writes an organization's name and security settings.
func (s *Store) UpdateOrganization(ctx context.Context, org *gatehouse.Organization) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE organizations SET name = ?, enforce_2fa = ?, members_can_use_personal_api_keys = ?, session_cookie_age = ? WHERE id = ?`),
		org.Name, org.Enforce2FA, org.MembersCanUsePersonalAPIKeys, nullInt(org.SessionCookieAge), org.ID)
	return affectedOne(res, err)
}

// ProjectsOfOrganization lists an organization's projects, oldest first.
func (s *Store) ProjectsOfOrganization(ctx context.Context, orgID string) ([]gatehouse.Project, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+projectColumns+` FROM projects WHERE organization_id = ? ORDER BY id`), orgID)
	return appendRows([]gatehouse.Project{}, rows, err, scanProject)
}

// SetProjectAPIToken replaces a project's public token.
func (s *Store) SetProjectAPIToken(ctx context.Context, projectID int64, token string) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE projects SET api_token = ? WHERE id = ?`), token, projectID)
	return affectedOne(res, err)
}

// RotateProjectSecret moves the current secret to the backup slot and
// stores the new one, in one statement.
func (s *Store) RotateProjectSecret(ctx context.Context, projectID int64, hash, mask string) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE projects SET secret_api_token_backup_hash = secret_api_token_hash, secret_api_token_backup_mask = secret_api_token_mask, secret_api_token_hash = ?, secret_api_token_mask = ? WHERE id = ?`),
		hash, mask, projectID)
	return affectedOne(res, err)
}

// DeleteProjectSecretBackup revokes a project's backup secret.
func (s *Store) DeleteProjectSecretBackup(ctx context.Context, projectID int64) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE projects SET secret_api_token_backup_hash = NULL, secret_api_token_backup_mask = '' WHERE id = ?`), projectID)
	return affectedOne(res, err)
}

const projectKeyColumns = `id, project_id, label, mask_value, secure_value, scopes, created_at, created_by_id, last_used_at, last_rolled_at`

func scanProjectKey(row interface{ Scan(...any) error }) (*gatehouse.ProjectSecretAPIKey, error) {
	var (
		k                  gatehouse.ProjectSecretAPIKey
		scopes             string
		by                 sql.NullInt64
		lastUsed, lastRoll sql.NullTime
	)
	if err := row.Scan(&k.ID, &k.ProjectID, &k.Label, &k.MaskValue, &k.SecureValue, &scopes, &k.CreatedAt, &by, &lastUsed, &lastRoll); err != nil {
		return nil, mapErr(err)
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, fmt.Errorf("store: project secret key scopes: %w", err)
	}
	k.CreatedByID = by.Int64
	k.CreatedAt = k.CreatedAt.UTC()
	if lastUsed.Valid {
		k.LastUsedAt = lastUsed.Time.UTC()
	}
	if lastRoll.Valid {
		k.LastRolledAt = lastRoll.Time.UTC()
	}
	return &k, nil
}

// CreateProjectSecretAPIKey inserts k unless the project has max keys.
func (s *Store) CreateProjectSecretAPIKey(ctx context.Context, k *gatehouse.ProjectSecretAPIKey, max int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "projects", k.ProjectID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM project_secret_api_keys WHERE project_id = ?`), k.ProjectID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return gatehouse.ErrKeyLimit
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO project_secret_api_keys (`+projectKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			k.ID, k.ProjectID, k.Label, k.MaskValue, k.SecureValue, jsonList(k.Scopes), k.CreatedAt.UTC(), nullInt64(k.CreatedByID), nullTime(k.LastUsedAt), nullTime(k.LastRolledAt))
		if err != nil {
			return fmt.Errorf("store: inserting project secret key: %w", mapErr(err))
		}
		return nil
	})
}

// ProjectSecretAPIKeys lists a project's secret keys, newest first.
func (s *Store) ProjectSecretAPIKeys(ctx context.Context, projectID int64) ([]gatehouse.ProjectSecretAPIKey, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+projectKeyColumns+` FROM project_secret_api_keys WHERE project_id = ? ORDER BY created_at DESC, id`), projectID)
	return appendRows([]gatehouse.ProjectSecretAPIKey{}, rows, err, scanProjectKey)
}

// ProjectSecretAPIKeyByID finds one of a project's secret keys.
func (s *Store) ProjectSecretAPIKeyByID(ctx context.Context, projectID int64, id string) (*gatehouse.ProjectSecretAPIKey, error) {
	return scanProjectKey(s.read.QueryRowContext(ctx, s.q(`SELECT `+projectKeyColumns+` FROM project_secret_api_keys WHERE project_id = ? AND id = ?`), projectID, id))
}

// ProjectSecretAPIKeyByHash finds a project secret key by its secure value.
func (s *Store) ProjectSecretAPIKeyByHash(ctx context.Context, secureValue string) (*gatehouse.ProjectSecretAPIKey, error) {
	return scanProjectKey(s.read.QueryRowContext(ctx, s.q(`SELECT `+projectKeyColumns+` FROM project_secret_api_keys WHERE secure_value = ?`), secureValue))
}

// UpdateProjectSecretAPIKey writes a secret key's label and scopes.
func (s *Store) UpdateProjectSecretAPIKey(ctx context.Context, k *gatehouse.ProjectSecretAPIKey) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE project_secret_api_keys SET label = ?, scopes = ? WHERE project_id = ? AND id = ?`), k.Label, jsonList(k.Scopes), k.ProjectID, k.ID)
	return affectedOne(res, err)
}

// RollProjectSecretAPIKey replaces a secret key's value.
func (s *Store) RollProjectSecretAPIKey(ctx context.Context, projectID int64, id, hash, mask string, now time.Time) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE project_secret_api_keys SET secure_value = ?, mask_value = ?, last_rolled_at = ? WHERE project_id = ? AND id = ?`), hash, mask, now.UTC(), projectID, id)
	return affectedOne(res, err)
}

// DeleteProjectSecretAPIKey deletes one of a project's secret keys.
func (s *Store) DeleteProjectSecretAPIKey(ctx context.Context, projectID int64, id string) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM project_secret_api_keys WHERE project_id = ? AND id = ?`), projectID, id)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// TouchProjectSecretAPIKey sets a secret key's last_used_at.
func (s *Store) TouchProjectSecretAPIKey(ctx context.Context, id string, now time.Time) error {
	_, err := s.write.ExecContext(ctx, s.q(`UPDATE project_secret_api_keys SET last_used_at = ? WHERE id = ?`), now.UTC(), id)
	return mapErr(err)
}

// CountMembers counts the organization's members whose accounts are
// active.
func (s *Store) CountMembers(ctx context.Context, orgID string) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.organization_id = ? AND u.is_active`), orgID).Scan(&n)
	return n, mapErr(err)
}
