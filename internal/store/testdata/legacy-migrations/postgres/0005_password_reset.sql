-- When the user last asked for a password reset, in unix milliseconds (NULL:
-- no reset pending). Reset tokens sign this value, so a newer request or a
-- completed reset (which clears it) kills every older token. Milliseconds
-- in a BIGINT compare exactly on both engines.
ALTER TABLE users ADD COLUMN password_reset_requested_at BIGINT;
