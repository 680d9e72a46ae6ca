-- Foundation schema: organizations, projects, users, memberships, events.
CREATE TABLE organizations (
    id                                TEXT PRIMARY KEY,
    name                              TEXT NOT NULL,
    enforce_2fa                       BOOLEAN NOT NULL DEFAULT FALSE,
    members_can_use_personal_api_keys BOOLEAN NOT NULL DEFAULT TRUE,
    session_cookie_age                INTEGER,
    created_at                        TIMESTAMP NOT NULL
);

CREATE TABLE projects (
    id                             INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id                TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name                           TEXT NOT NULL,
    api_token                      TEXT NOT NULL UNIQUE,
    secret_api_token_hash          TEXT NOT NULL UNIQUE,
    secret_api_token_mask          TEXT NOT NULL,
    secret_api_token_backup_hash   TEXT UNIQUE,
    secret_api_token_backup_mask   TEXT NOT NULL DEFAULT '',
    created_at                     TIMESTAMP NOT NULL
);
CREATE INDEX projects_organization ON projects (organization_id);

CREATE TABLE users (
    id                      INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid                    TEXT NOT NULL UNIQUE,
    email                   TEXT NOT NULL,
    first_name              TEXT NOT NULL DEFAULT '',
    last_name               TEXT NOT NULL DEFAULT '',
    password_hash           TEXT NOT NULL DEFAULT '',
    is_active               BOOLEAN NOT NULL DEFAULT TRUE,
    is_staff                BOOLEAN NOT NULL DEFAULT FALSE,
    is_email_verified       BOOLEAN,
    current_organization_id TEXT REFERENCES organizations(id) ON DELETE SET NULL,
    current_project_id      INTEGER REFERENCES projects(id) ON DELETE SET NULL,
    created_at              TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_email_ci ON users (lower(email));

CREATE TABLE memberships (
    organization_id TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    level           INTEGER NOT NULL CHECK (level IN (1, 8, 15)),
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE events (
    project_id  INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    uuid        TEXT NOT NULL,
    event       TEXT NOT NULL,
    distinct_id TEXT NOT NULL,
    timestamp   TEXT NOT NULL DEFAULT '',
    properties  TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, uuid)
);
