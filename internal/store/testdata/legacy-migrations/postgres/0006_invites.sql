-- Organization invites. The id is a random UUID and the secret of the
-- signup link. expires_at and used_at are unix milliseconds, which compare
-- exactly on both engines; used_at is NULL while the invite is pending.
CREATE TABLE invites (
    id                 TEXT PRIMARY KEY,
    organization_id    TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    target_email       TEXT NOT NULL,
    first_name         TEXT NOT NULL DEFAULT '',
    level              INTEGER NOT NULL CHECK (level IN (1, 8)),
    created_by_user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    expires_at         BIGINT NOT NULL,
    used_at            BIGINT
);
CREATE INDEX invites_organization_email ON invites (organization_id, lower(target_email));
