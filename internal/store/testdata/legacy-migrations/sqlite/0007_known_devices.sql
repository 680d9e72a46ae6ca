-- Devices (client network + browser family) each user has signed in from,
-- for the "login from a new device" notice.
CREATE TABLE known_devices (
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    fingerprint  TEXT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, fingerprint)
);
