package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// SAMLOptions returns a domain's SAML options.
func (s *Store) SAMLOptions(ctx context.Context, domainID string) (*gatehouse.SAMLOptions, error) {
	var (
		o       gatehouse.SAMLOptions
		mapping string
	)
	err := s.read.QueryRowContext(ctx, s.q(`SELECT saml_allow_idp_initiated, saml_attribute_mapping FROM organization_domains WHERE id = ?`), domainID).
		Scan(&o.AllowIdPInitiated, &mapping)
	if err != nil {
		return nil, mapErr(err)
	}
	if mapping != "" {
		if err := json.Unmarshal([]byte(mapping), &o.AttributeMapping); err != nil {
			return nil, fmt.Errorf("store: domain %s: attribute mapping: %w", domainID, err)
		}
	}
	return &o, nil
}

// UpdateSAMLOptions writes a domain's SAML options.
func (s *Store) UpdateSAMLOptions(ctx context.Context, domainID string, o *gatehouse.SAMLOptions) error {
	mapping := ""
	if len(o.AttributeMapping) > 0 {
		b, err := json.Marshal(o.AttributeMapping)
		if err != nil {
			return err
		}
		mapping = string(b)
	}
	res, err := s.write.ExecContext(ctx, s.q(`UPDATE organization_domains SET saml_allow_idp_initiated = ?, saml_attribute_mapping = ? WHERE id = ?`),
		o.AllowIdPInitiated, mapping, domainID)
	if err != nil {
		return fmt.Errorf("store: updating SAML options: %w", mapErr(err))
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return gatehouse.ErrNotFound
	}
	return nil
}

// UseSAMLAssertionID records an assertion ID as consumed and reports
// whether it was new. The primary key decides between concurrent copies
// on any number of instances. Expired records are deleted first.
func (s *Store) UseSAMLAssertionID(ctx context.Context, domainID, assertionID string, expires, now time.Time) (bool, error) {
	if _, err := s.write.ExecContext(ctx, s.q(`DELETE FROM saml_assertion_ids WHERE expires_at < ?`), now.UnixMilli()); err != nil {
		return false, fmt.Errorf("store: expiring SAML assertion ids: %w", mapErr(err))
	}
	res, err := s.write.ExecContext(ctx, s.q(`INSERT INTO saml_assertion_ids (domain_id, assertion_id, expires_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`),
		domainID, assertionID, expires.UnixMilli())
	if err != nil {
		return false, fmt.Errorf("store: recording SAML assertion id: %w", mapErr(err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}
