package password

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
)

// RFC 9106, section 5.3: Argon2id with a secret and associated data.
func TestIDKeyRFC9106Vector(t *testing.T) {
	pw := bytes.Repeat([]byte{0x01}, 32)
	salt := bytes.Repeat([]byte{0x02}, 16)
	secret := bytes.Repeat([]byte{0x03}, 8)
	ad := bytes.Repeat([]byte{0x04}, 12)
	got := idKey(pw, salt, secret, ad, 3, 32, 4, 32)
	want := "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
	if hex.EncodeToString(got) != want {
		t.Fatalf("tag = %x, want %s", got, want)
	}
}

// TestIDKeyMatchesXCrypto guards the go:linkname into x/crypto: idKey must
// equal argon2.IDKey for every parameter shape, including output lengths
// on both sides of H's 64-byte boundary and several lanes. A matrix from
// the pool is reused between cases, as in production.
func TestIDKeyMatchesXCrypto(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		time, memory uint32
		threads      uint8
		keyLen       uint32
	}{
		{2, 19456, 1, 32}, // our production parameters
		{1, 8, 1, 4},
		{1, 64, 2, 64},
		{2, 64, 2, 65},
		{3, 1024, 4, 96},
		{1, 37, 3, 128},
		{4, 2048, 1, 1024},
		{2, 100, 1, 1025},
	}
	for i := 0; i < 12; i++ {
		cases = append(cases, struct {
			time, memory uint32
			threads      uint8
			keyLen       uint32
		}{1 + r.Uint32N(3), 8 + r.Uint32N(3000), uint8(1 + r.UintN(4)), 4 + r.Uint32N(200)})
	}
	for _, c := range cases {
		pw := make([]byte, r.IntN(80))
		salt := make([]byte, 8+r.IntN(24))
		for i := range pw {
			pw[i] = byte(r.Uint32())
		}
		for i := range salt {
			salt[i] = byte(r.Uint32())
		}
		want := argon2.IDKey(pw, salt, c.time, c.memory, c.threads, c.keyLen)
		got := idKey(pw, salt, nil, nil, c.time, c.memory, c.threads, c.keyLen)
		if !bytes.Equal(got, want) {
			t.Errorf("t=%d m=%d p=%d len=%d: idKey differs from argon2.IDKey", c.time, c.memory, c.threads, c.keyLen)
		}
	}
}

// Hashes running at once each get their own matrix: results stay right.
func TestIDKeyConcurrent(t *testing.T) {
	want := argon2.IDKey([]byte("pw"), []byte("0123456789abcdef"), 1, 4096, 1, 32)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 4; j++ {
				if got := idKey([]byte("pw"), []byte("0123456789abcdef"), nil, nil, 1, 4096, 1, 32); !bytes.Equal(got, want) {
					errs <- "concurrent idKey gave a wrong result"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
