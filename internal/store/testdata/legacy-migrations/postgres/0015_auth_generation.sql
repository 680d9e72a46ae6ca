-- The auth generation (internal/gatehouse/gencache.go): one counter that
-- every change to what authenticates a key, or to what the key-served hot
-- paths return, moves in the same transaction. Instances cache those reads
-- per generation and check the counter on each request, so a revoked or
-- rolled key fails on the next request everywhere. Last-use bookkeeping
-- (last_used_at, query_uses, TOTP last_step) does not move it.
CREATE TABLE auth_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO auth_generation (id, value) VALUES (1, 1);

CREATE FUNCTION bump_auth_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE auth_generation SET value = value + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_auth AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER organizations_auth AFTER INSERT OR UPDATE OR DELETE ON organizations FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER memberships_auth AFTER INSERT OR UPDATE OR DELETE ON memberships FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER projects_auth AFTER INSERT OR UPDATE OR DELETE ON projects FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER personal_api_keys_auth_id AFTER INSERT OR DELETE ON personal_api_keys FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER personal_api_keys_auth_u AFTER UPDATE OF id, user_id, label, mask_value, secure_value, scopes, scoped_teams, scoped_organizations, created_at, last_rolled_at ON personal_api_keys FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER project_secret_api_keys_auth_id AFTER INSERT OR DELETE ON project_secret_api_keys FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER project_secret_api_keys_auth_u AFTER UPDATE OF id, project_id, label, mask_value, secure_value, scopes, created_at, created_by_id, last_rolled_at ON project_secret_api_keys FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER totp_devices_auth_id AFTER INSERT OR DELETE ON totp_devices FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER totp_devices_auth_u AFTER UPDATE OF user_id, secret, created_at ON totp_devices FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER feature_flags_auth AFTER INSERT OR UPDATE OR DELETE ON feature_flags FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER webauthn_credentials_auth_id AFTER INSERT OR DELETE ON webauthn_credentials FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER webauthn_credentials_auth_u AFTER UPDATE OF id, user_id, credential_id, public_key, algorithm, verified ON webauthn_credentials FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
CREATE TRIGGER passkey_two_factor_auth AFTER INSERT OR UPDATE OR DELETE ON passkey_two_factor FOR EACH STATEMENT EXECUTE FUNCTION bump_auth_generation();
