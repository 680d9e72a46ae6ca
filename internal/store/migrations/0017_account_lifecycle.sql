-- Account lifecycle.
--
-- memberships.updated_at: when a membership's level last changed, for the
-- members API; NULL until the first change (the API then answers the
-- joining time).
ALTER TABLE memberships ADD COLUMN updated_at TIMESTAMP;

-- users.pending_email: the address an email change waits to confirm ('':
-- none), requested at pending_email_at (unix milliseconds), which the
-- confirmation link carries so that a later request voids it.
ALTER TABLE users ADD COLUMN pending_email TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN pending_email_at BIGINT NOT NULL DEFAULT 0;
