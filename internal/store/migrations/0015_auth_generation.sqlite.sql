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

CREATE TRIGGER users_auth_i AFTER INSERT ON users BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER users_auth_u AFTER UPDATE ON users BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER users_auth_d AFTER DELETE ON users BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER organizations_auth_i AFTER INSERT ON organizations BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER organizations_auth_u AFTER UPDATE ON organizations BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER organizations_auth_d AFTER DELETE ON organizations BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER memberships_auth_i AFTER INSERT ON memberships BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER memberships_auth_u AFTER UPDATE ON memberships BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER memberships_auth_d AFTER DELETE ON memberships BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER projects_auth_i AFTER INSERT ON projects BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER projects_auth_u AFTER UPDATE ON projects BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER projects_auth_d AFTER DELETE ON projects BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER personal_api_keys_auth_i AFTER INSERT ON personal_api_keys BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER personal_api_keys_auth_u AFTER UPDATE OF id, user_id, label, mask_value, secure_value, scopes, scoped_teams, scoped_organizations, created_at, last_rolled_at ON personal_api_keys BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER personal_api_keys_auth_d AFTER DELETE ON personal_api_keys BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER project_secret_api_keys_auth_i AFTER INSERT ON project_secret_api_keys BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER project_secret_api_keys_auth_u AFTER UPDATE OF id, project_id, label, mask_value, secure_value, scopes, created_at, created_by_id, last_rolled_at ON project_secret_api_keys BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER project_secret_api_keys_auth_d AFTER DELETE ON project_secret_api_keys BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER totp_devices_auth_i AFTER INSERT ON totp_devices BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER totp_devices_auth_u AFTER UPDATE OF user_id, secret, created_at ON totp_devices BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER totp_devices_auth_d AFTER DELETE ON totp_devices BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER feature_flags_auth_i AFTER INSERT ON feature_flags BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER feature_flags_auth_u AFTER UPDATE ON feature_flags BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER feature_flags_auth_d AFTER DELETE ON feature_flags BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER webauthn_credentials_auth_i AFTER INSERT ON webauthn_credentials BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER webauthn_credentials_auth_u AFTER UPDATE OF id, user_id, credential_id, public_key, algorithm, verified ON webauthn_credentials BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER webauthn_credentials_auth_d AFTER DELETE ON webauthn_credentials BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER passkey_two_factor_auth_i AFTER INSERT ON passkey_two_factor BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER passkey_two_factor_auth_u AFTER UPDATE ON passkey_two_factor BEGIN UPDATE auth_generation SET value = value + 1; END;
CREATE TRIGGER passkey_two_factor_auth_d AFTER DELETE ON passkey_two_factor BEGIN UPDATE auth_generation SET value = value + 1; END;
