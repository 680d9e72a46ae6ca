-- Passkeys (WebAuthn). Times are Unix milliseconds.

-- A user's passkey. credential_id is the authenticator's id for it (unique
-- across all users); public_key the COSE key; sign_count the last signature
-- counter seen (a counter that goes backwards is refused). A passkey is
-- usable for sign-in only once verified (proof of possession).
CREATE TABLE webauthn_credentials (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    credential_id    BLOB NOT NULL UNIQUE,
    label            TEXT NOT NULL DEFAULT 'Passkey',
    public_key       BLOB NOT NULL,
    algorithm        INTEGER NOT NULL,
    sign_count       BIGINT NOT NULL DEFAULT 0,
    transports       TEXT NOT NULL DEFAULT '',
    verified         BOOLEAN NOT NULL DEFAULT FALSE,
    backup_eligible  BOOLEAN NOT NULL DEFAULT FALSE,
    backup_state     BOOLEAN NOT NULL DEFAULT FALSE,
    aaguid           BLOB,
    attestation_type TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);

-- WebAuthn challenges waiting for their answer (5 minutes, single use).
-- The browser holds a random key in a cookie; only its hash is stored.
-- user_id is the user the ceremony is for (NULL for a passwordless login,
-- where the authenticator names the user); credential the passkey a proof
-- of possession is about; ceremony the go-webauthn session data (challenge,
-- RP ID, allowed credentials, algorithms).
CREATE TABLE webauthn_challenges (
    key_hash   TEXT PRIMARY KEY,
    purpose    TEXT NOT NULL,
    user_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    credential BIGINT NOT NULL DEFAULT 0,
    ceremony   TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_challenges_expires ON webauthn_challenges (expires_at);

-- Users who use their passkeys as second factor (passkeys_enabled_for_2fa).
CREATE TABLE passkey_two_factor (
    user_id    INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    enabled_at BIGINT NOT NULL
);
