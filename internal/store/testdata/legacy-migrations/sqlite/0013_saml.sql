-- SAML service provider per organization domain (SPEC B.10.6): whether the
-- domain accepts IdP-initiated logins (off by default: only responses to
-- our own AuthnRequests are accepted), and the admin's attribute-name
-- overrides on top of B.10.6's defaults (JSON: field -> list of names).
ALTER TABLE organization_domains ADD COLUMN saml_allow_idp_initiated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE organization_domains ADD COLUMN saml_attribute_mapping TEXT NOT NULL DEFAULT '';

-- Assertion IDs already consumed, shared by every instance: the unique key
-- makes a replayed assertion fail even when two copies arrive at once.
-- Rows are kept until the assertion itself could no longer be accepted
-- (unix milliseconds), then deleted.
CREATE TABLE saml_assertion_ids (
    domain_id    TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (domain_id, assertion_id)
);
CREATE INDEX saml_assertion_ids_expires ON saml_assertion_ids (expires_at);
