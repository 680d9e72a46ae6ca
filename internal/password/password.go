// Package password hashes and verifies passwords. New hashes are argon2id
// (m=19456 KiB, t=2, p=1) in Django's encoding, so a database moved between
// PostHog and Gatehouse keeps working in both directions.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// The argon2id parameters for new hashes (OWASP's recommendation).
const (
	memoryKiB uint32 = 19456
	timeCost  uint32 = 2
	threads   uint8  = 1
	saltLen          = 16
	keyLen           = 32
)

var b64 = base64.RawStdEncoding

// Cost is argon2id's work factor for new hashes.
type Cost struct {
	MemoryKiB, Time uint32
}

// DefaultCost is what every instance hashes with (OWASP's recommendation).
var DefaultCost = Cost{MemoryKiB: memoryKiB, Time: timeCost}

// TestCost is a far cheaper cost for the throwaway instances of end-to-end
// tests, which sign in thousands of times: the algorithm and the encoding
// are the same, only the work differs. Nothing in the configuration can
// choose it.
var TestCost = Cost{MemoryKiB: 64, Time: 1}

// Hash returns the stored form of a password:
// argon2$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func Hash(pw gatehouse.Secret) gatehouse.Secret { return hashWith(pw, memoryKiB, timeCost, threads) }

// Hash returns the stored form of a password at cost c.
func (c Cost) Hash(pw gatehouse.Secret) gatehouse.Secret {
	return hashWith(pw, c.MemoryKiB, c.Time, threads)
}

func hashWith(pw gatehouse.Secret, memoryKiB, timeCost uint32, threads uint8) gatehouse.Secret {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		panic("password: crypto/rand failed: " + err.Error())
	}
	key := idKey([]byte(pw.Reveal()), salt, nil, nil, timeCost, memoryKiB, threads, keyLen)
	return gatehouse.Secret(fmt.Sprintf("argon2$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memoryKiB, timeCost, threads, b64.EncodeToString(salt), b64.EncodeToString(key)))
}

// ErrUnknownFormat means the stored hash is in no format this package reads.
var ErrUnknownFormat = errors.New("password: unknown hash format")

// Verify reports whether pw matches the stored hash, comparing in constant
// time. needsRehash is true when the hash should be replaced by Hash(pw) at
// the next successful login (weaker parameters or another algorithm).
func Verify(pw gatehouse.Secret, stored gatehouse.Secret) (ok, needsRehash bool, err error) {
	return DefaultCost.verify(pw, stored)
}

// verify is Verify with needsRehash judged against c.
func (c Cost) verify(pw gatehouse.Secret, stored gatehouse.Secret) (ok, needsRehash bool, err error) {
	s := stored.Reveal()
	if !strings.HasPrefix(s, "argon2$") {
		return verifyDjango(pw, s)
	}
	parts := strings.Split(s, "$")
	// argon2 $ argon2id|argon2i $ v=19 $ m=..,t=..,p=.. $ salt $ hash
	if len(parts) != 6 || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return false, false, ErrUnknownFormat
	}
	var m, t, p int
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m <= 0 || t <= 0 || p <= 0 || p > 255 || m > 1<<22 || t > 100 {
		return false, false, ErrUnknownFormat
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, false, ErrUnknownFormat
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 1024 {
		return false, false, ErrUnknownFormat
	}
	var got []byte
	if parts[1] == "argon2i" {
		got = argon2.Key([]byte(pw.Reveal()), salt, uint32(t), uint32(m), uint8(p), uint32(len(want)))
	} else {
		got = idKey([]byte(pw.Reveal()), salt, nil, nil, uint32(t), uint32(m), uint8(p), uint32(len(want)))
	}
	ok = subtle.ConstantTimeCompare(got, want) == 1
	return ok, ok && (parts[1] != "argon2id" || m < int(c.MemoryKiB) || t < int(c.Time)), nil
}
