package httpauth

func ProviderName(d Auth, backend string) string {
	if p, ok := d.SocialProviders.Get(backend); ok && p.DisplayName() != "" {
		return p.DisplayName()
	}
	if backend == "saml" {
		return "SAML"
	}
	return backend
}
