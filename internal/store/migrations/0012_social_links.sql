-- Social sign-in links (docs/posthog-compat.md#social-login): a user's identity at a provider
-- (google-oauth2, github, gitlab, a custom provider, or saml). One identity
-- (provider, uid) belongs to one user. created_at is unix milliseconds.
CREATE TABLE social_links (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    uid        TEXT NOT NULL,
    email      TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX social_links_provider_uid ON social_links (provider, uid);
CREATE INDEX social_links_user ON social_links (user_id);
