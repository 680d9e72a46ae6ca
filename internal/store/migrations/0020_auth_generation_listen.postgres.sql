-- The auth generation without a read per request (internal/store/pglisten.go,
-- docs/SECURITY.md): every bump also notifies the instances listening on
-- gatehouse_auth_generation, with the schema and the new value as payload
-- (several deployments may share one database under different schemas,
-- and channels are per database). Notifications go out at commit.
--
-- auth_generation_listeners holds one row per listening instance: the
-- highest generation it has acknowledged (it already answers with it)
-- and until when its lease lets it answer from memory. A write that moved
-- the generation returns only once every live listener has acknowledged
-- it, or once the lease has run out.
CREATE OR REPLACE FUNCTION bump_auth_generation() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next BIGINT;
BEGIN
    UPDATE auth_generation SET value = value + 1 WHERE id = 1 RETURNING value INTO next;
    PERFORM pg_notify('gatehouse_auth_generation', current_schema() || ' ' || next);
    RETURN NULL;
END
$$;

CREATE TABLE auth_generation_listeners (
    instance_id TEXT PRIMARY KEY,
    acked       BIGINT NOT NULL,
    lease_until TIMESTAMPTZ NOT NULL
);
