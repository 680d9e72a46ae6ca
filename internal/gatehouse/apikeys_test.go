package gatehouse

import (
	"hash/crc32"
	"regexp"
	"strings"
	"testing"
)

func TestChecksumRefusesTyposAndRandomStrings(t *testing.T) {
	key := NewPersonalAPIKey().Reveal()
	// Every single-character change of the body or checksum is caught.
	for i := 4; i < len(key); i++ {
		for _, c := range []byte{'2', 'Z', 'a'} {
			if key[i] == c {
				continue
			}
			typo := key[:i] + string(c) + key[i+1:]
			if CheckTokenChecksum(typo) == nil {
				t.Fatalf("typo at %d accepted: %q", i, typo)
			}
		}
	}
	// A made-up string of the right shape fails (57^6 possible checksums).
	fake := "phx_" + strings.Repeat("a", 48) + "bbbbbb"
	if CheckTokenChecksum(fake) == nil {
		t.Fatal("made-up key accepted")
	}
	// Characters outside base57 in a checksummed-length string fail.
	if CheckTokenChecksum("phs_"+strings.Repeat("0", 54)) == nil {
		t.Fatal("non-base57 secret accepted")
	}
	// Legacy lengths and other prefixes are left to the lookup.
	for _, legacy := range []string{"phx_" + RandomToken(35), "phx_" + strings.Repeat("A", 43), "phs_" + RandomToken(35), "abc", "phc_" + strings.Repeat("x", 54)} {
		if CheckTokenChecksum(legacy) != nil {
			t.Fatalf("legacy %q refused", legacy)
		}
	}
}

// TestChecksumDocumentedAlgorithm recomputes the checksum the way the
// README tells scanner authors to.
func TestChecksumDocumentedAlgorithm(t *testing.T) {
	re := regexp.MustCompile(`^ph[xs]_[2-9a-km-zA-HJ-NP-Z]{54,55}$`)
	for i := 0; i < 100; i++ {
		key := NewPersonalAPIKey().Reveal()
		if !re.MatchString(key) {
			t.Fatalf("README regex misses %q", key)
		}
		body, sum := key[:len(key)-6], key[len(key)-6:]
		n := crc32.ChecksumIEEE([]byte(body))
		var v uint64
		for _, c := range sum {
			v = v*57 + uint64(strings.IndexRune(base57Alphabet, c))
		}
		if v != uint64(n) {
			t.Fatalf("checksum of %q: %d, CRC-32 %d", key, v, n)
		}
	}
}

// TestLegacyKeyHashFormat checks PostHog's legacy hash against a value
// computed outside Gatehouse: Python's hashlib.pbkdf2_hmac("sha256",
// key, b"posthog_personal_api_key", 260000, 32), base64 (the HTTP tests
// store such values for keys at both of PostHog's iteration counts).
func TestLegacyKeyHashFormat(t *testing.T) {
	const want = "pbkdf2_sha256$260000$posthog_personal_api_key$uMIFNU7GXNaGaHM8r0qlZbQYRNFRdYDjMVKUgX0MHmg="
	if h := LegacyKeyHash("phx_legacyUpgradeKeyAt260000iterations0", 260000); h != want {
		t.Fatalf("legacy hash %q, want %q", h, want)
	}
}

func TestValidateScopes(t *testing.T) {
	good := []string{"*", "user:read", "feature_flag:write", "organization:read", "project:write"}
	if got, err := ValidateScopes(append(good, "user:read")); err != nil || len(got) != len(good) {
		t.Fatalf("valid scopes: %v %v", got, err)
	}
	for _, bad := range []string{"user", "user:delete", "nothing:read", "user:read:extra", "", ":read", "*:read"} {
		_, err := ValidateScopes([]string{"user:read", bad})
		e, ok := AsError(err)
		if !ok || e.Kind != KindInvalid || e.Detail != "Invalid scope: "+bad || e.Attr != "scopes" {
			t.Fatalf("scope %q: %v", bad, err)
		}
	}
}

// TestCheckKeyAccess covers every rule and message of docs/posthog-compat.md#api-key-scopes.
func TestCheckKeyAccess(t *testing.T) {
	org := &Organization{ID: "0190-org", Name: "Acme", MembersCanUsePersonalAPIKeys: true}
	closed := &Organization{ID: "0190-org", Name: "Acme", MembersCanUsePersonalAPIKeys: false}
	for _, tc := range []struct {
		name string
		key  PersonalAPIKey
		req  KeyRequest
		want string // "" allowed
	}{
		{"route without scope object", PersonalAPIKey{Scopes: []string{"*"}}, KeyRequest{}, "This action does not support Personal API Key access"},
		{"legacy key without scopes", PersonalAPIKey{}, KeyRequest{Object: "project", Action: "write", Organization: org, Level: LevelMember, ProjectID: 1}, ""},
		{"legacy key on unsupported route", PersonalAPIKey{}, KeyRequest{Action: "read"}, "This action does not support Personal API Key access"},
		{"wildcard", PersonalAPIKey{Scopes: []string{"*"}}, KeyRequest{Object: "organization", Action: "write", Organization: org}, ""},
		{"exact read", PersonalAPIKey{Scopes: []string{"user:read"}}, KeyRequest{Object: "user", Action: "read"}, ""},
		{"write implies read", PersonalAPIKey{Scopes: []string{"project:write"}}, KeyRequest{Object: "project", Action: "read", ProjectID: 1}, ""},
		{"read does not imply write", PersonalAPIKey{Scopes: []string{"project:read"}}, KeyRequest{Object: "project", Action: "write", ProjectID: 1}, "API key missing required scope 'project:write'"},
		{"other object", PersonalAPIKey{Scopes: []string{"user:read"}}, KeyRequest{Object: "organization", Action: "read", Organization: org}, "API key missing required scope 'organization:read'"},
		{"org switch off, member", PersonalAPIKey{Scopes: []string{"*"}}, KeyRequest{Object: "organization", Action: "read", Organization: closed, Level: LevelMember},
			"Organization 'Acme' does not allow using personal API keys. Contact an admin to enable personal API keys for this organization."},
		{"org switch off, legacy key", PersonalAPIKey{}, KeyRequest{Object: "organization", Action: "read", Organization: closed, Level: LevelMember},
			"Organization 'Acme' does not allow using personal API keys. Contact an admin to enable personal API keys for this organization."},
		{"org switch off, admin", PersonalAPIKey{Scopes: []string{"*"}}, KeyRequest{Object: "organization", Action: "read", Organization: closed, Level: LevelAdmin}, ""},
		{"org switch off, owner", PersonalAPIKey{Scopes: []string{"*"}}, KeyRequest{Object: "organization", Action: "read", Organization: closed, Level: LevelOwner}, ""},
		{"scoped team matches", PersonalAPIKey{Scopes: []string{"*"}, ScopedTeams: []int64{7}}, KeyRequest{Object: "project", Action: "read", ProjectID: 7, Organization: org}, ""},
		{"scoped team differs", PersonalAPIKey{Scopes: []string{"*"}, ScopedTeams: []int64{7}}, KeyRequest{Object: "project", Action: "read", ProjectID: 8, Organization: org},
			"API key does not have access to the requested project: ID 8."},
		{"scoped teams on org route", PersonalAPIKey{Scopes: []string{"*"}, ScopedTeams: []int64{7}}, KeyRequest{Object: "organization", Action: "read", Organization: org},
			"API keys with scoped projects are only supported on project-based endpoints."},
		{"scoped org matches", PersonalAPIKey{Scopes: []string{"*"}, ScopedOrganizations: []string{"0190-org"}}, KeyRequest{Object: "organization", Action: "read", Organization: org}, ""},
		{"scoped org differs", PersonalAPIKey{Scopes: []string{"*"}, ScopedOrganizations: []string{"other"}}, KeyRequest{Object: "organization", Action: "read", Organization: org},
			"API key does not have access to the requested organization: ID 0190-org."},
		{"scoped org, view without org", PersonalAPIKey{Scopes: []string{"*"}, ScopedOrganizations: []string{"other"}}, KeyRequest{Object: "feature_flag", Action: "read"}, ""},
		{"user views skip scoping", PersonalAPIKey{Scopes: []string{"user:read"}, ScopedTeams: []int64{7}, ScopedOrganizations: []string{"other"}}, KeyRequest{Object: "user", Action: "read"}, ""},
		{"scoping checked before wildcard", PersonalAPIKey{Scopes: []string{"*"}, ScopedOrganizations: []string{"other"}}, KeyRequest{Object: "project", Action: "read", ProjectID: 1, Organization: org},
			"API key does not have access to the requested organization: ID 0190-org."},
	} {
		err := CheckKeyAccess(&tc.key, tc.req)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: refused: %v", tc.name, err)
			}
			continue
		}
		e, ok := AsError(err)
		if !ok || e.Kind != KindPermissionDenied || e.Detail != tc.want {
			t.Errorf("%s: got %v, want 403 %q", tc.name, err, tc.want)
		}
	}
}

// TestBadChecksumNeedsNoLookup: the service has no store, so any lookup
// would panic; a checksum failure must answer before one.
func TestBadChecksumNeedsNoLookup(t *testing.T) {
	s := &APIKeyService{}
	key := NewPersonalAPIKey().Reveal()
	last := key[len(key)-1]
	repl := byte('2')
	if last == '2' {
		repl = '3'
	}
	for where, bad := range map[KeyTransport]string{KeyInHeader: key[:len(key)-1] + string(repl), KeyInBody: "phx_" + strings.Repeat("z", 49) + "222222", KeyInQuery: strings.Repeat("x", 400)} {
		_, _, err := s.Authenticate(t.Context(), bad, where)
		e, ok := AsError(err)
		if !ok || e.Kind != KindUnauthenticated || e.Detail != "Personal API key found in request "+where.Where()+" is invalid." {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}

func TestLooksLikeLegacyKey(t *testing.T) {
	base62 := "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for _, s := range []string{"phx_" + RandomToken(35), RandomToken(35), "phx_" + RandomToken(32), base62[:32], "phx_" + base62[:43], "phx_" + base62[:49]} {
		if !LooksLikeLegacyKey(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "abc", "phx_", base62[:31], "phx_" + base62[:31], "phx_" + base62 + "0", "phx_" + base62[:40] + "-",
		"phx_" + base62[:40] + "é", "phx_" + base62[:40] + " ", "phc_" + base62[:40], "pha_" + base62[:40], "phx_phx_" + base62[:40]} {
		if LooksLikeLegacyKey(s) {
			t.Errorf("%q accepted", s)
		}
	}
}
