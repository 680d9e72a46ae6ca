-- Server-side sessions. The cookie holds a random key; only its SHA-256 is
-- stored, so a database leak does not hand out live sessions.
CREATE TABLE sessions (
    key_hash         TEXT PRIMARY KEY,
    public_id        TEXT NOT NULL UNIQUE,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at       TIMESTAMP NOT NULL,
    expires_at       TIMESTAMP NOT NULL,
    last_activity_at TIMESTAMP NOT NULL,
    client_ip        TEXT NOT NULL DEFAULT '',
    user_agent       TEXT NOT NULL DEFAULT '',
    login_method     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
