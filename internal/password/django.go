package password

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// maxPBKDF2Iterations bounds the work a stored hash can ask for.
const maxPBKDF2Iterations = 10_000_000

// verifyDjango checks the hash formats Django (and so PostHog) writes other
// than argon2: pbkdf2_sha256, pbkdf2_sha1, bcrypt_sha256 and bcrypt. Every
// success asks for a rehash to argon2id.
func verifyDjango(pw gatehouse.Secret, stored string) (ok, needsRehash bool, err error) {
	algo, rest, found := strings.Cut(stored, "$")
	if !found {
		return false, false, ErrUnknownFormat
	}
	switch algo {
	case "pbkdf2_sha256", "pbkdf2_sha1":
		// pbkdf2_sha256$<iterations>$<salt>$<base64 hash>
		parts := strings.Split(rest, "$")
		if len(parts) != 3 {
			return false, false, ErrUnknownFormat
		}
		iter, err := strconv.Atoi(parts[0])
		if err != nil || iter < 1 || iter > maxPBKDF2Iterations {
			return false, false, ErrUnknownFormat
		}
		want, err := base64.StdEncoding.DecodeString(parts[2])
		if err != nil || len(want) == 0 {
			return false, false, ErrUnknownFormat
		}
		h := func() hash.Hash { return sha256.New() }
		if algo == "pbkdf2_sha1" {
			h = func() hash.Hash { return sha1.New() }
		}
		got, err := pbkdf2.Key(h, pw.Reveal(), []byte(parts[1]), iter, len(want))
		if err != nil {
			return false, false, ErrUnknownFormat
		}
		ok := subtle.ConstantTimeCompare(got, want) == 1
		return ok, ok, nil
	case "bcrypt_sha256", "bcrypt":
		// bcrypt_sha256$$2b$12$…: bcrypt over the hex SHA-256 of the
		// password (Django's way round bcrypt's 72-byte limit).
		if !strings.HasPrefix(rest, "$2") {
			return false, false, ErrUnknownFormat
		}
		secret := []byte(pw.Reveal())
		if algo == "bcrypt_sha256" {
			sum := sha256.Sum256(secret)
			secret = []byte(hex.EncodeToString(sum[:]))
		}
		err := bcrypt.CompareHashAndPassword([]byte(rest), secret)
		switch err {
		case nil:
			return true, true, nil
		case bcrypt.ErrMismatchedHashAndPassword:
			return false, false, nil
		}
		return false, false, ErrUnknownFormat
	}
	return false, false, ErrUnknownFormat
}
