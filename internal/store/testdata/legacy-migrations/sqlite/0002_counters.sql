-- Rate-limit and lockout counters shared by every instance. expires_at is
-- unix milliseconds so comparisons read the same on both engines.
CREATE TABLE rate_counters (
    key        TEXT PRIMARY KEY,
    count      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
) WITHOUT ROWID;
CREATE INDEX rate_counters_expires ON rate_counters (expires_at);
