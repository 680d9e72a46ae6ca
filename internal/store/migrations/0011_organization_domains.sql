-- Organization domains (docs/posthog-compat.md#organization-domains): claimed email domains, verified by a
-- DNS TXT challenge, that can enforce a sign-in method, provision accounts
-- just in time and carry a SAML identity provider. A domain belongs to at
-- most one organization. Times are unix milliseconds.
CREATE TABLE organization_domains (
    id                       TEXT PRIMARY KEY,
    organization_id          TEXT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    domain                   TEXT NOT NULL,
    verification_challenge   TEXT NOT NULL,
    verified_at              BIGINT,
    last_verification_retry  BIGINT,
    jit_provisioning_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    sso_enforcement          TEXT NOT NULL DEFAULT '',
    saml_entity_id           TEXT NOT NULL DEFAULT '',
    saml_acs_url             TEXT NOT NULL DEFAULT '',
    saml_x509_cert           TEXT NOT NULL DEFAULT '',
    created_at               BIGINT NOT NULL
);
CREATE UNIQUE INDEX organization_domains_domain ON organization_domains (lower(domain));
CREATE INDEX organization_domains_organization ON organization_domains (organization_id);
