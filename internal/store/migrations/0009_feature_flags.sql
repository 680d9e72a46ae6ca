-- Feature flags: per-project definitions evaluated by /flags and served to
-- server SDKs for local evaluation. Deleting is soft (deleted = TRUE), and a
-- key is unique among a project's flags that are not deleted.
CREATE TABLE feature_flags (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    active     BOOLEAN NOT NULL DEFAULT TRUE,
    filters    TEXT NOT NULL,
    deleted    BOOLEAN NOT NULL DEFAULT FALSE,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX feature_flags_project_key ON feature_flags (project_id, key) WHERE NOT deleted;
CREATE INDEX feature_flags_project ON feature_flags (project_id, id);
