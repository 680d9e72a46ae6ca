package gatehouse

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash/crc32"
	"math/big"
	"strconv"
	"strings"
)

// base57Alphabet is PostHog's token alphabet: base62 without the easily
// confused 0, 1, O, I and l.
const base57Alphabet = "23456789abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"

// Token prefixes, as PostHog uses them.
const (
	PrefixProjectToken  = "phc_"
	PrefixProjectSecret = "phs_"
	PrefixPersonalKey   = "phx_"
)

// RandomToken returns nbytes random bytes, with the top bit forced to 1 so
// the length is stable, written in base57 most significant digit first.
func RandomToken(nbytes int) string {
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		panic("gatehouse: crypto/rand failed: " + err.Error())
	}
	b[0] |= 0x80
	return encodeBase57(b)
}

func encodeBase57(b []byte) string {
	n := new(big.Int).SetBytes(b)
	base := big.NewInt(57)
	mod := new(big.Int)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, base57Alphabet[mod.Int64()])
	}
	if len(out) == 0 {
		out = append(out, base57Alphabet[0])
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

// NewProjectToken returns a fresh public project token (phc_ + 44 base57
// characters from 256 random bits).
func NewProjectToken() string { return PrefixProjectToken + RandomToken(32) }

// NewProjectSecret returns a fresh project secret token: phs_, base57 of
// 280 random bits (48 or 49 characters) and a 6-character checksum.
func NewProjectSecret() Secret { return Secret(withChecksum(PrefixProjectSecret + RandomToken(35))) }

// NewPersonalAPIKey returns a fresh personal API key: phx_, base57 of 280
// random bits (48 or 49 characters) and a 6-character checksum.
func NewPersonalAPIKey() Secret { return Secret(withChecksum(PrefixPersonalKey + RandomToken(35))) }

// ChecksumLength is how many base57 characters of checksum end a new phx_
// or phs_ secret.
const ChecksumLength = 6

// TokenChecksum returns the checksum of a secret's text (prefix included):
// the CRC-32 (IEEE) of its bytes written in base57, left-padded with "2"
// (base57 zero) to ChecksumLength characters. 57^6 > 2^32, so every CRC
// value fits.
func TokenChecksum(text string) string {
	n := uint64(crc32.ChecksumIEEE([]byte(text)))
	out := make([]byte, ChecksumLength)
	for i := ChecksumLength - 1; i >= 0; i-- {
		out[i] = base57Alphabet[n%57]
		n /= 57
	}
	return string(out)
}

func withChecksum(text string) string { return text + TokenChecksum(text) }

// checksummedLengths are the lengths after the prefix of secrets that carry
// a checksum: 48 or 49 random characters and 6 of checksum. Older secrets
// (base57 48/49, base62 up to 48 characters) are never this long.
func checksummedLength(n int) bool { return n == 48+ChecksumLength || n == 49+ChecksumLength }

// ErrBadChecksum means a string shaped like a checksummed Gatehouse secret
// fails its checksum: a typo or a made-up value, refused before any lookup.
var ErrBadChecksum = errorString("secret checksum does not match")

type errorString string

func (e errorString) Error() string { return string(e) }

// CheckTokenChecksum verifies the checksum of a phx_ or phs_ secret that
// has a checksummed length. Other strings (older secrets without checksum,
// other prefixes) pass: their validity is decided by the lookup.
func CheckTokenChecksum(s string) error {
	if !strings.HasPrefix(s, PrefixPersonalKey) && !strings.HasPrefix(s, PrefixProjectSecret) {
		return nil
	}
	if !checksummedLength(len(s) - 4) {
		return nil
	}
	body := s[:len(s)-ChecksumLength]
	for i := 4; i < len(s); i++ {
		if strings.IndexByte(base57Alphabet, s[i]) < 0 {
			return ErrBadChecksum
		}
	}
	if !constantTimeEqual(s[len(s)-ChecksumLength:], TokenChecksum(body)) {
		return ErrBadChecksum
	}
	return nil
}

// HasTokenChecksum reports whether s is a secret that carries a valid
// checksum, i.e. one Gatehouse made (and stored with sha256$ only).
func HasTokenChecksum(s string) bool {
	return (strings.HasPrefix(s, PrefixPersonalKey) || strings.HasPrefix(s, PrefixProjectSecret)) &&
		checksummedLength(len(s)-4) && CheckTokenChecksum(s) == nil
}

// Legacy personal API key hashes: Django's PBKDF2PasswordHasher with a
// fixed salt, at the two iteration counts PostHog has used.
const (
	legacyKeySalt = "posthog_personal_api_key"
)

// LegacyKeyIterations are the PBKDF2 iteration counts of legacy personal
// API key hashes, oldest first.
var LegacyKeyIterations = []int{260000, 390000}

// LegacyKeyHash returns the legacy stored form of key at the given PBKDF2
// iteration count: pbkdf2_sha256$<iterations>$posthog_personal_api_key$<b64>.
func LegacyKeyHash(key Secret, iterations int) string {
	dk, err := pbkdf2.Key(sha256.New, key.Reveal(), []byte(legacyKeySalt), iterations, sha256.Size)
	if err != nil {
		panic("gatehouse: pbkdf2: " + err.Error())
	}
	return "pbkdf2_sha256$" + strconv.Itoa(iterations) + "$" + legacyKeySalt + "$" + base64.StdEncoding.EncodeToString(dk)
}

// HashToken returns the stored form of a secret token or key:
// "sha256$" and the lower-case hex SHA-256 of its text, as PostHog stores
// personal API keys. Tokens carry 256+ bits of entropy, so an unsalted fast
// hash is enough and lets a lookup be one indexed query.
func HashToken(s Secret) string {
	sum := sha256.Sum256([]byte(s.Reveal()))
	return "sha256$" + hex.EncodeToString(sum[:])
}

// MaskToken returns the display hint of a secret: the first 4 and last 4
// characters, or "********" for values shorter than 16 characters.
func MaskToken(s Secret) string {
	v := s.Reveal()
	if len(v) < 16 {
		return "********"
	}
	return v[:4] + "..." + v[len(v)-4:]
}
