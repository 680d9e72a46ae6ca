package gatehouse

import "context"

// EnforcingOrganization is the organization whose verified domain enforces
// a sign-in method on email, with that method; "", "" when none (or when
// the method is not usable here, as EnforcedProvider answers).
func (s *DomainService) EnforcingOrganization(ctx context.Context, email string) (orgID, provider string, err error) {
	provider, err = s.EnforcedProvider(ctx, email)
	if err != nil || provider == "" {
		return "", "", err
	}
	d, err := s.verifiedDomainOf(ctx, email)
	if err != nil || d == nil {
		return "", "", err
	}
	return d.OrganizationID, provider, nil
}
