package gatehouse

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
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

// NewProjectSecret returns a fresh project secret token (phs_ + base57 of
// 280 random bits).
func NewProjectSecret() Secret { return Secret(PrefixProjectSecret + RandomToken(35)) }

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
