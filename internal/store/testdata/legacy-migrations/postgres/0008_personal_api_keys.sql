-- Personal API keys and project secret API keys. Only hashes (sha256$…,
-- or legacy pbkdf2_sha256$…) and display masks are stored; scopes and
-- scoping lists are JSON arrays.
CREATE TABLE personal_api_keys (
    id                   TEXT PRIMARY KEY,
    user_id              BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label                TEXT NOT NULL,
    mask_value           TEXT NOT NULL,
    secure_value         TEXT NOT NULL UNIQUE,
    scopes               TEXT NOT NULL DEFAULT '[]',
    scoped_teams         TEXT,
    scoped_organizations TEXT,
    created_at           TIMESTAMPTZ NOT NULL,
    last_used_at         TIMESTAMPTZ,
    last_rolled_at       TIMESTAMPTZ,
    query_uses           BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX personal_api_keys_user ON personal_api_keys (user_id, created_at);

CREATE TABLE project_secret_api_keys (
    id             TEXT PRIMARY KEY,
    project_id     BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    label          TEXT NOT NULL,
    mask_value     TEXT NOT NULL,
    secure_value   TEXT NOT NULL UNIQUE,
    scopes         TEXT NOT NULL DEFAULT '[]',
    created_at     TIMESTAMPTZ NOT NULL,
    created_by_id  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    last_used_at   TIMESTAMPTZ,
    last_rolled_at TIMESTAMPTZ,
    UNIQUE (project_id, label)
);
