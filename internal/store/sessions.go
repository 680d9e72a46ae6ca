package store

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

const sessionColumns = `public_id, user_id, created_at, expires_at, last_activity_at, client_ip, user_agent, login_method`

func scanSession(row interface{ Scan(...any) error }) (*gatehouse.Session, error) {
	var s gatehouse.Session
	if err := row.Scan(&s.PublicID, &s.UserID, &s.CreatedAt, &s.ExpiresAt, &s.LastActivityAt, &s.ClientIP, &s.UserAgent, &s.LoginMethod); err != nil {
		return nil, mapErr(err)
	}
	s.CreatedAt, s.ExpiresAt, s.LastActivityAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC(), s.LastActivityAt.UTC()
	return &s, nil
}

// CreateSession stores a new session under the hash of its key.
func (s *Store) CreateSession(ctx context.Context, keyHash string, sess *gatehouse.Session) error {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO sessions (key_hash, `+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		keyHash, sess.PublicID, sess.UserID, sess.CreatedAt.UTC(), sess.ExpiresAt.UTC(), sess.LastActivityAt.UTC(), sess.ClientIP, sess.UserAgent, sess.LoginMethod)
	if err != nil {
		return fmt.Errorf("store: creating session: %w", mapErr(err))
	}
	return nil
}

// SessionByKeyHash finds a session, expired or not (the caller decides).
func (s *Store) SessionByKeyHash(ctx context.Context, keyHash string) (*gatehouse.Session, error) {
	return scanSession(s.read.QueryRowContext(ctx, s.q(`SELECT `+sessionColumns+` FROM sessions WHERE key_hash = ?`), keyHash))
}

// TouchSession records activity on a session.
func (s *Store) TouchSession(ctx context.Context, keyHash string, at time.Time, clientIP string) error {
	_, err := s.write.ExecContext(ctx, s.q(`UPDATE sessions SET last_activity_at = ?, client_ip = ? WHERE key_hash = ?`), at.UTC(), clientIP, keyHash)
	return mapErr(err)
}

// DeleteSession ends one session by its key hash; deleting a missing
// session is not an error.
func (s *Store) DeleteSession(ctx context.Context, keyHash string) error {
	_, err := s.write.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE key_hash = ?`), keyHash)
	return mapErr(err)
}

// DeleteSessionByPublicID ends one of a user's sessions by its public id
// and reports whether there was one. Another user's session is never
// touched.
func (s *Store) DeleteSessionByPublicID(ctx context.Context, userID int64, publicID string) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ? AND public_id = ?`), userID, publicID)
	if err != nil {
		return false, mapErr(err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// DeleteUserSessions ends every session of a user except the one whose key
// hash is exceptKeyHash ("" ends them all), and returns how many it ended.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64, exceptKeyHash string) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id = ? AND key_hash <> ?`), userID, exceptKeyHash)
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// UserSessions lists a user's sessions that are still alive at now, most
// recently active first.
func (s *Store) UserSessions(ctx context.Context, userID int64, now time.Time) ([]gatehouse.Session, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+sessionColumns+` FROM sessions WHERE user_id = ? ORDER BY last_activity_at DESC, public_id`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []gatehouse.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		if !sess.Expired(now) {
			out = append(out, *sess)
		}
	}
	return out, rows.Err()
}

// DeleteExpiredSessions removes sessions that ended before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at <= ?`), now.UTC())
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}
