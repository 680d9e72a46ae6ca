package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

const domainColumns = `id, organization_id, domain, verification_challenge, verified_at, last_verification_retry, jit_provisioning_enabled, sso_enforcement, saml_entity_id, saml_acs_url, saml_x509_cert, created_at`

func scanDomain(row interface{ Scan(...any) error }) (*gatehouse.OrganizationDomain, error) {
	var (
		d               gatehouse.OrganizationDomain
		verified, retry sql.NullInt64
		created         int64
	)
	err := row.Scan(&d.ID, &d.OrganizationID, &d.Domain, &d.VerificationChallenge, &verified, &retry, &d.JITProvisioningEnabled,
		&d.SSOEnforcement, &d.SAMLEntityID, &d.SAMLACSURL, &d.SAMLX509Cert, &created)
	if err != nil {
		return nil, mapErr(err)
	}
	d.VerifiedAt, d.LastVerificationRetry = millisPtr(verified), millisPtr(retry)
	d.CreatedAt = time.UnixMilli(created).UTC()
	return &d, nil
}

func millisPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

func nullMillis(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// CreateDomain stores d; a domain another organization (or this one)
// already claimed, ignoring case, is gatehouse.ErrConflict.
func (s *Store) CreateDomain(ctx context.Context, d *gatehouse.OrganizationDomain) error {
	_, err := s.write.ExecContext(ctx, s.q(`INSERT INTO organization_domains (`+domainColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		d.ID, d.OrganizationID, d.Domain, d.VerificationChallenge, nullMillis(d.VerifiedAt), nullMillis(d.LastVerificationRetry), d.JITProvisioningEnabled,
		d.SSOEnforcement, d.SAMLEntityID, d.SAMLACSURL, d.SAMLX509Cert, d.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: inserting domain: %w", mapErr(err))
	}
	return nil
}

// DomainsOfOrganization lists an organization's domains, oldest first.
func (s *Store) DomainsOfOrganization(ctx context.Context, orgID string) ([]gatehouse.OrganizationDomain, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT `+domainColumns+` FROM organization_domains WHERE organization_id = ? ORDER BY created_at, id`), orgID)
	return appendRows([]gatehouse.OrganizationDomain{}, rows, err, scanDomain)
}

// DomainByID finds a domain by id.
func (s *Store) DomainByID(ctx context.Context, id string) (*gatehouse.OrganizationDomain, error) {
	return scanDomain(s.read.QueryRowContext(ctx, s.q(`SELECT `+domainColumns+` FROM organization_domains WHERE id = ?`), id))
}

// DomainByName finds a domain by name, ignoring case.
func (s *Store) DomainByName(ctx context.Context, domain string) (*gatehouse.OrganizationDomain, error) {
	return scanDomain(s.read.QueryRowContext(ctx, s.q(`SELECT `+domainColumns+` FROM organization_domains WHERE lower(domain) = lower(?)`), domain))
}

// UpdateDomain writes d's mutable fields.
func (s *Store) UpdateDomain(ctx context.Context, d *gatehouse.OrganizationDomain) error {
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE organization_domains SET verified_at = ?, last_verification_retry = ?, jit_provisioning_enabled = ?, sso_enforcement = ?, saml_entity_id = ?, saml_acs_url = ?, saml_x509_cert = ? WHERE id = ?`),
		nullMillis(d.VerifiedAt), nullMillis(d.LastVerificationRetry), d.JITProvisioningEnabled, d.SSOEnforcement, d.SAMLEntityID, d.SAMLACSURL, d.SAMLX509Cert, d.ID)
	if err != nil {
		return fmt.Errorf("store: updating domain: %w", mapErr(err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// DeleteDomain deletes one of the organization's domains and reports
// whether there was one.
func (s *Store) DeleteDomain(ctx context.Context, orgID, id string) (bool, error) {
	res, err := s.write.ExecContext(ctx, s.q(`DELETE FROM organization_domains WHERE organization_id = ? AND id = ?`), orgID, id)
	if err != nil {
		return false, fmt.Errorf("store: deleting domain: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
