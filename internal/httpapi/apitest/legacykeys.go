package apitest

import "github.com/gatehouse-auth/gatehouse/internal/gatehouse"

// LegacyKey is a personal API key of PostHog's older form (no checksum)
// with the PBKDF2 hash PostHog stored for it.
type LegacyKey struct {
	Value      gatehouse.Secret
	Iterations int
	Hash       string
}

// Legacy keys with their stored hashes, computed outside Gatehouse with
// Python's hashlib.pbkdf2_hmac("sha256", value, b"posthog_personal_api_key",
// iterations, 32), base64: the tests store these instead of hashing with
// the code under test, which both checks Gatehouse against an independent
// implementation and saves the tests a PBKDF2 run at PostHog's counts for
// every key they store (about a second each under the race detector).
var (
	LegacyUpgradeKey260k = LegacyKey{"phx_legacyUpgradeKeyAt260000iterations0", 260000,
		"pbkdf2_sha256$260000$posthog_personal_api_key$uMIFNU7GXNaGaHM8r0qlZbQYRNFRdYDjMVKUgX0MHmg="}
	LegacyUpgradeKey390k = LegacyKey{"phx_legacyUpgradeKeyAt390000iterations0", 390000,
		"pbkdf2_sha256$390000$posthog_personal_api_key$N/oObSn3/tZRKJ4nLH1VfJYscjGf7uk4TMOQ1Kg4Kek="}
	LegacyImportedKey260k = LegacyKey{"phx_importedLegacyKeyAt260000iteration0", 260000,
		"pbkdf2_sha256$260000$posthog_personal_api_key$p3iJH3vN8Cy0CsWahFForX9ojip1SXHH/D6IBHK4LP0="}
	LegacyLaterKey390k = LegacyKey{"phx_unknownThenStoredKeyAt390000iterat0", 390000,
		"pbkdf2_sha256$390000$posthog_personal_api_key$95sUxmkYoF4/5CrXJ1J1WxQIj5V9mpzqDPTJwQQwD70="}
)
