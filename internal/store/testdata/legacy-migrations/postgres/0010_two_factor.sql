-- Two-factor authentication. Times are Unix milliseconds so that both
-- engines compare them the same way.

-- A user's confirmed TOTP device. The secret is sealed (AES-GCM) under a key
-- derived from SECRET_KEY and bound to the user; last_step is the last
-- RFC 6238 time step accepted, so a code can never be used twice.
CREATE TABLE totp_devices (
    user_id    BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     BYTEA NOT NULL,
    last_step  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);

-- A TOTP secret shown to the user and waiting for its first code (600 s).
CREATE TABLE totp_setups (
    user_id    BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret     BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);

-- Single-use backup codes, stored only as a keyed hash.
CREATE TABLE backup_codes (
    user_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- Browsers that skip the second step for 30 days (remember_device_<id>
-- cookies). Only the token's hash is kept; password_mark ties the device
-- to the password it was trusted under, so a password change ends it.
CREATE TABLE remembered_devices (
    id            TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash    TEXT NOT NULL,
    password_mark TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL,
    client_ip     TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX remembered_devices_user ON remembered_devices (user_id);

-- Logins that passed the password step and wait for the second one. The
-- browser holds a random key in a cookie; only its hash is stored.
CREATE TABLE pending_logins (
    key_hash   TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    method     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX pending_logins_user ON pending_logins (user_id);

-- Email second-factor links not yet used (single use, 15 minutes).
CREATE TABLE email_mfa_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX email_mfa_tokens_user ON email_mfa_tokens (user_id);

-- Sessions that passed a second factor (organization enforcement).
CREATE TABLE two_factor_verified_sessions (
    session_key_hash TEXT PRIMARY KEY REFERENCES sessions(key_hash) ON DELETE CASCADE,
    verified_at      BIGINT NOT NULL
);
