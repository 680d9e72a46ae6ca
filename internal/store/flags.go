package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

const flagColumns = `f.id, f.project_id, f.key, f.name, f.active, f.filters, f.deleted, f.created_by, COALESCE(u.uuid, ''), COALESCE(u.email, ''), COALESCE(u.first_name, ''), COALESCE(u.last_name, ''), f.created_at, f.updated_at, f.version`

const flagFrom = ` FROM feature_flags f LEFT JOIN users u ON u.id = f.created_by `

func scanFlag(row interface{ Scan(...any) error }) (*gatehouse.FeatureFlag, error) {
	var (
		f         gatehouse.FeatureFlag
		filters   string
		createdBy sql.NullInt64
	)
	err := row.Scan(&f.ID, &f.ProjectID, &f.Key, &f.Name, &f.Active, &filters, &f.Deleted, &createdBy, &f.CreatedByUUID, &f.CreatedByEmail, &f.CreatedByFirstName, &f.CreatedByLastName, &f.CreatedAt, &f.UpdatedAt, &f.Version)
	if err != nil {
		return nil, mapErr(err)
	}
	if err := json.Unmarshal([]byte(filters), &f.Filters); err != nil {
		return nil, fmt.Errorf("store: feature flag %d has unreadable filters: %w", f.ID, err)
	}
	var extra flagExtra
	if err := json.Unmarshal([]byte(filters), &extra); err != nil {
		return nil, fmt.Errorf("store: feature flag %d has unreadable filters: %w", f.ID, err)
	}
	f.RemoteConfiguration = extra.RemoteConfiguration
	f.CreatedByID = createdBy.Int64
	f.CreatedAt = f.CreatedAt.UTC()
	f.UpdatedAt = f.UpdatedAt.UTC()
	return &f, nil
}

// flagExtra holds the flag attributes kept beside the filters in the
// filters column, so that they need no column of their own. The key is
// one PostHog's filters never use.
type flagExtra struct {
	RemoteConfiguration bool `json:"gatehouse_is_remote_configuration,omitempty"`
}

// flagFiltersText is the filters column of f: its filters as JSON plus
// the flagExtra attributes that are set.
func flagFiltersText(f *gatehouse.FeatureFlag) (string, error) {
	filters, err := json.Marshal(f.Filters)
	if err != nil {
		return "", err
	}
	if !f.RemoteConfiguration {
		return string(filters), nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(filters, &fields); err != nil {
		return "", err
	}
	fields["gatehouse_is_remote_configuration"] = json.RawMessage("true")
	out, err := json.Marshal(fields)
	return string(out), err
}

// CreateFeatureFlag stores a new flag and fills its ID, times and version.
// A live flag of the project with the same key is gatehouse.ErrConflict.
func (s *Store) CreateFeatureFlag(ctx context.Context, f *gatehouse.FeatureFlag) error {
	filters, err := flagFiltersText(f)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	f.CreatedAt, f.UpdatedAt, f.Version = now, now, 1
	err = s.write.QueryRowContext(ctx, s.q(`INSERT INTO feature_flags (project_id, key, name, active, filters, deleted, created_by, created_at, updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		f.ProjectID, f.Key, f.Name, f.Active, string(filters), false, nullInt64(f.CreatedByID), now, now, 1).Scan(&f.ID)
	if err != nil {
		return fmt.Errorf("store: inserting feature flag: %w", mapErr(err))
	}
	return nil
}

// FeatureFlagByID finds a project's flag that is not deleted.
func (s *Store) FeatureFlagByID(ctx context.Context, projectID, id int64) (*gatehouse.FeatureFlag, error) {
	return scanFlag(s.read.QueryRowContext(ctx, s.q(`SELECT `+flagColumns+flagFrom+`WHERE f.project_id = ? AND f.id = ? AND NOT f.deleted`), projectID, id))
}

// FeatureFlags lists a project's flags that are not deleted, oldest first.
func (s *Store) FeatureFlags(ctx context.Context, projectID int64) ([]gatehouse.FeatureFlag, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+flagColumns+flagFrom+`WHERE f.project_id = ? AND NOT f.deleted ORDER BY f.id`), projectID)
	return appendRows([]gatehouse.FeatureFlag{}, rows, err, scanFlag)
}

// UpdateFeatureFlag saves key, name, active and filters when the stored
// version is still f.Version, and advances the version; f is updated to the
// new version and time. A concurrent save makes it fail with
// gatehouse.ErrVersionConflict, so one of two racing edits wins whole.
func (s *Store) UpdateFeatureFlag(ctx context.Context, f *gatehouse.FeatureFlag) error {
	filters, err := flagFiltersText(f)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE feature_flags SET key = ?, name = ?, active = ?, filters = ?, updated_at = ?, version = version + 1 WHERE project_id = ? AND id = ? AND version = ? AND NOT deleted`),
		f.Key, f.Name, f.Active, string(filters), now, f.ProjectID, f.ID, f.Version)
	if err != nil {
		return fmt.Errorf("store: updating feature flag: %w", mapErr(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.FeatureFlagByID(ctx, f.ProjectID, f.ID); err != nil {
			return err
		}
		return gatehouse.ErrVersionConflict
	}
	f.Version++
	f.UpdatedAt = now
	return nil
}

// DeleteFeatureFlag soft-deletes a flag (its key becomes free) and reports
// whether a live flag was deleted.
func (s *Store) DeleteFeatureFlag(ctx context.Context, projectID, id int64, now time.Time) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE feature_flags SET deleted = ?, updated_at = ?, version = version + 1 WHERE project_id = ? AND id = ? AND NOT deleted`), true, now.UTC(), projectID, id)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ProjectBySecretTokenHash finds the project whose primary or backup secret
// token hash is hash.
func (s *Store) ProjectBySecretTokenHash(ctx context.Context, hash string) (*gatehouse.Project, error) {
	return scanProject(s.read.QueryRowContext(ctx, s.q(`SELECT `+projectColumns+` FROM projects WHERE secret_api_token_hash = ? OR secret_api_token_backup_hash = ?`), hash, hash))
}
