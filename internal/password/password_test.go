package password

import (
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

func TestHashVerify(t *testing.T) {
	h := Hash("correct horse battery staple")
	if !strings.HasPrefix(h.Reveal(), "argon2$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash format %q", h.Reveal())
	}
	if strings.Contains(h.Reveal(), "correct horse") {
		t.Fatal("hash contains the password")
	}
	if h2 := Hash("correct horse battery staple"); h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	ok, rehash, err := Verify("correct horse battery staple", h)
	if !ok || rehash || err != nil {
		t.Fatalf("right password: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	for _, wrong := range []gatehouse.Secret{"correct horse battery stapl", "", "Correct horse battery staple"} {
		if ok, _, _ := Verify(wrong, h); ok {
			t.Fatalf("wrong password %q accepted", wrong.Reveal())
		}
	}
}

func TestVerifyWeakerParamsNeedsRehash(t *testing.T) {
	weak := hashWith("pw-for-rehash", 8192, 1, 1)
	ok, rehash, err := Verify("pw-for-rehash", weak)
	if !ok || !rehash || err != nil {
		t.Fatalf("weaker hash: ok=%v rehash=%v err=%v; want ok and rehash", ok, rehash, err)
	}
	if ok, rehash, _ := Verify("wrong", weak); ok || rehash {
		t.Fatal("a failed check must not ask for a rehash")
	}
}

func TestVerifyRejectsMalformed(t *testing.T) {
	for _, stored := range []string{
		"", "plaintext", "argon2$argon2id$v=19$m=19456,t=2,p=1$salt", "argon2$argon2id$v=18$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		"argon2$argon2id$v=19$m=0,t=2,p=1$c2FsdA$aGFzaA", "argon2$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$aGFzaA",
		"argon2$argon2id$v=19$m=19456,t=2,p=1$!!!$aGFzaA", "pbkdf2_sha256$1$salt$hash",
	} {
		if ok, _, err := Verify("x", gatehouse.Secret(stored)); ok || err == nil {
			t.Errorf("Verify(%q): ok=%v err=%v, want an error", stored, ok, err)
		}
	}
}
