package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

const apiKeyColumns = `k.id, k.user_id, k.label, k.mask_value, k.secure_value, k.scopes, k.scoped_teams, k.scoped_organizations, k.created_at, k.last_used_at, k.last_rolled_at, k.query_uses`

func scanAPIKey(dest []any, k *gatehouse.PersonalAPIKey) []any {
	return append(dest, &k.ID, &k.UserID, &k.Label, &k.MaskValue, &k.SecureValue)
}

type apiKeyRow struct {
	k                  gatehouse.PersonalAPIKey
	scopes             string
	teams, orgs        sql.NullString
	lastUsed, lastRoll sql.NullTime
}

func (r *apiKeyRow) dest() []any {
	return append(scanAPIKey(nil, &r.k), &r.scopes, &r.teams, &r.orgs, &r.k.CreatedAt, &r.lastUsed, &r.lastRoll, &r.k.QueryUses)
}

func (r *apiKeyRow) key() (*gatehouse.PersonalAPIKey, error) {
	k := r.k
	if err := json.Unmarshal([]byte(r.scopes), &k.Scopes); err != nil {
		return nil, fmt.Errorf("store: personal API key scopes: %w", err)
	}
	if r.teams.Valid {
		if err := json.Unmarshal([]byte(r.teams.String), &k.ScopedTeams); err != nil {
			return nil, fmt.Errorf("store: personal API key scoped_teams: %w", err)
		}
	}
	if r.orgs.Valid {
		if err := json.Unmarshal([]byte(r.orgs.String), &k.ScopedOrganizations); err != nil {
			return nil, fmt.Errorf("store: personal API key scoped_organizations: %w", err)
		}
	}
	k.CreatedAt = k.CreatedAt.UTC()
	if r.lastUsed.Valid {
		k.LastUsedAt = r.lastUsed.Time.UTC()
	}
	if r.lastRoll.Valid {
		k.LastRolledAt = r.lastRoll.Time.UTC()
	}
	return &k, nil
}

func jsonList[T any](v []T) string {
	if v == nil {
		v = []T{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// nullJSONList stores nil as NULL (no scoping) and a list as JSON.
func nullJSONList[T any](v []T) sql.NullString {
	if len(v) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: jsonList(v), Valid: true}
}

func nullTime(t time.Time) sql.NullTime {
	if t.IsZero() {
		return sql.NullTime{}
	}
	return sql.NullTime{Time: t.UTC(), Valid: true}
}

// lockRow serialises inserts under one parent row on PostgreSQL (SQLite's
// immediate transactions already serialise all writes).
func (s *Store) lockRow(ctx context.Context, tx *sql.Tx, table string, id int64) error {
	if s.engine != Postgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q(`SELECT id FROM `+table+` WHERE id = ? FOR UPDATE`), id)
	return err
}

// CreatePersonalAPIKey inserts k unless its user already has max keys.
func (s *Store) CreatePersonalAPIKey(ctx context.Context, k *gatehouse.PersonalAPIKey, max int) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.lockRow(ctx, tx, "users", k.UserID); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM personal_api_keys WHERE user_id = ?`), k.UserID).Scan(&n); err != nil {
			return err
		}
		if n >= max {
			return gatehouse.ErrKeyLimit
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO personal_api_keys (id, user_id, label, mask_value, secure_value, scopes, scoped_teams, scoped_organizations, created_at, last_used_at, last_rolled_at, query_uses) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			k.ID, k.UserID, k.Label, k.MaskValue, k.SecureValue, jsonList(k.Scopes), nullJSONList(k.ScopedTeams), nullJSONList(k.ScopedOrganizations),
			k.CreatedAt.UTC(), nullTime(k.LastUsedAt), nullTime(k.LastRolledAt), k.QueryUses)
		if err != nil {
			return fmt.Errorf("store: inserting personal API key: %w", mapErr(err))
		}
		return nil
	})
}

// PersonalAPIKeysOfUser lists a user's keys, newest first.
func (s *Store) PersonalAPIKeysOfUser(ctx context.Context, userID int64) ([]gatehouse.PersonalAPIKey, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+apiKeyColumns+` FROM personal_api_keys k WHERE k.user_id = ? ORDER BY k.created_at DESC, k.id`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []gatehouse.PersonalAPIKey{}
	for rows.Next() {
		var r apiKeyRow
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		k, err := r.key()
		if err != nil {
			return nil, err
		}
		out = append(out, *k)
	}
	return out, rows.Err()
}

// PersonalAPIKeyByID finds one of a user's keys.
func (s *Store) PersonalAPIKeyByID(ctx context.Context, userID int64, id string) (*gatehouse.PersonalAPIKey, error) {
	var r apiKeyRow
	err := s.read.QueryRowContext(ctx, s.q(`SELECT `+apiKeyColumns+` FROM personal_api_keys k WHERE k.user_id = ? AND k.id = ?`), userID, id).Scan(r.dest()...)
	if err != nil {
		return nil, mapErr(err)
	}
	return r.key()
}

// PersonalAPIKeyByHash finds a key by its secure value, and its user, in
// one indexed query.
func (s *Store) PersonalAPIKeyByHash(ctx context.Context, secureValue string) (*gatehouse.PersonalAPIKey, *gatehouse.User, error) {
	var (
		r        apiKeyRow
		u        gatehouse.User
		pw       string
		verified sql.NullBool
		org      sql.NullString
		project  sql.NullInt64
	)
	dest := append(r.dest(), &u.ID, &u.UUID, &u.Email, &u.FirstName, &u.LastName, &pw, &u.IsActive, &u.IsStaff, &verified, &org, &project, &u.CreatedAt)
	err := s.read.QueryRowContext(ctx, s.q(`SELECT `+apiKeyColumns+`, u.id, u.uuid, u.email, u.first_name, u.last_name, u.password_hash, u.is_active, u.is_staff, u.is_email_verified, u.current_organization_id, u.current_project_id, u.created_at
		FROM personal_api_keys k JOIN users u ON u.id = k.user_id WHERE k.secure_value = ?`), secureValue).Scan(dest...)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	k, err := r.key()
	if err != nil {
		return nil, nil, err
	}
	u.PasswordHash = gatehouse.Secret(pw)
	if verified.Valid {
		u.IsEmailVerified = &verified.Bool
	}
	u.CurrentOrganizationID, u.CurrentProjectID, u.CreatedAt = org.String, project.Int64, u.CreatedAt.UTC()
	return k, &u, nil
}

// HasLegacyPersonalAPIKeyHashes reports whether any key still has a PBKDF2
// hash.
func (s *Store) HasLegacyPersonalAPIKeyHashes(ctx context.Context) (bool, error) {
	var n int
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM personal_api_keys WHERE secure_value LIKE 'pbkdf2%' LIMIT 1) x`).Scan(&n)
	return n > 0, err
}

// UpdatePersonalAPIKey writes a key's label, scopes and scoping.
func (s *Store) UpdatePersonalAPIKey(ctx context.Context, k *gatehouse.PersonalAPIKey) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE personal_api_keys SET label = ?, scopes = ?, scoped_teams = ?, scoped_organizations = ? WHERE id = ? AND user_id = ?`),
		k.Label, jsonList(k.Scopes), nullJSONList(k.ScopedTeams), nullJSONList(k.ScopedOrganizations), k.ID, k.UserID)
	return affectedOne(res, err)
}

func affectedOne(res sql.Result, err error) error {
	if err != nil {
		return mapErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// RollPersonalAPIKey replaces a key's secret.
func (s *Store) RollPersonalAPIKey(ctx context.Context, userID int64, id, secureValue, mask string, now time.Time) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE personal_api_keys SET secure_value = ?, mask_value = ?, last_rolled_at = ? WHERE id = ? AND user_id = ?`),
		secureValue, mask, now.UTC(), id, userID)
	return affectedOne(res, err)
}

// DeletePersonalAPIKey deletes one of a user's keys.
func (s *Store) DeletePersonalAPIKey(ctx context.Context, userID int64, id string) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM personal_api_keys WHERE id = ? AND user_id = ?`), id, userID)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// UpgradePersonalAPIKeyHash rewrites a legacy hash if the row still has it.
func (s *Store) UpgradePersonalAPIKeyHash(ctx context.Context, id, oldValue, newValue string) error {
	_, err := s.write.ExecContext(ctx, s.q(`UPDATE personal_api_keys SET secure_value = ? WHERE id = ? AND secure_value = ?`), newValue, id, oldValue)
	return mapErr(err)
}

// TouchPersonalAPIKey records a use: last_used_at when the caller found it
// stale, and the query-string counter when viaQuery.
func (s *Store) TouchPersonalAPIKey(ctx context.Context, id string, now, staleBefore time.Time, viaQuery bool) error {
	q := `UPDATE personal_api_keys SET last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < ? THEN ? ELSE last_used_at END`
	if viaQuery {
		q += `, query_uses = query_uses + 1`
	}
	_, err := s.write.ExecContext(ctx, s.q(q+` WHERE id = ?`), staleBefore.UTC(), now.UTC(), id)
	return mapErr(err)
}

// SetPersonalAPIKeyTimes overwrites a key's created_at and last_used_at;
// tests use it to age a key.
func (s *Store) SetPersonalAPIKeyTimes(ctx context.Context, id string, created, lastUsed time.Time) error {
	_, err := s.write.ExecContext(ctx, s.q(`UPDATE personal_api_keys SET created_at = ?, last_used_at = ? WHERE id = ?`), created.UTC(), nullTime(lastUsed), id)
	return mapErr(err)
}
