-- When a membership's level last changed, for the members API's
-- updated_at; NULL until the first change (the API then answers the
-- joining time).
ALTER TABLE memberships ADD COLUMN updated_at TIMESTAMP;
