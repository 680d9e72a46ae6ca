package secretkey

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

const goodKey = "0123456789abcdef0123456789abcdef0123456789abcdef"

func TestResolveProductionRefusesWeakKeys(t *testing.T) {
	for _, tc := range []struct {
		name, key, want string
	}{
		{"unset", "", "is not set"},
		{"whitespace", "   ", "is not set"},
		{"placeholder", Placeholder, "placeholder"},
		{"short", "abc123", "shorter than 32"},
		{"31 chars", strings.Repeat("x", 31), "shorter than 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Resolve(Settings{Key: gatehouse.Secret(tc.key), DataDir: t.TempDir()})
			if err == nil {
				t.Fatal("weak key accepted in production")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "gatehouse generate-secret") {
				t.Fatalf("error %q should say %q and how to make a key", err, tc.want)
			}
			if strings.Contains(err.Error(), "abc123") {
				t.Fatalf("error leaks the key: %q", err)
			}
		})
	}
	if _, _, err := Resolve(Settings{Key: gatehouse.Secret(strings.Repeat("k", 32)), DataDir: t.TempDir()}); err != nil {
		t.Fatalf("32-character key refused: %v", err)
	}
}

func TestResolveRefusesWeakFallbackInProduction(t *testing.T) {
	_, _, err := Resolve(Settings{Key: goodKey, Fallbacks: []gatehouse.Secret{Placeholder}})
	if err == nil || !strings.Contains(err.Error(), "SECRET_KEY_FALLBACKS item 1") {
		t.Fatalf("want fallback refusal, got %v", err)
	}
}

func TestResolveDevelopmentGeneratesAndKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ring1, warn1, err := Resolve(Settings{Development: true, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(warn1) != 1 || !strings.Contains(warn1[0], "generated") {
		t.Fatalf("want a warning about the generated key, got %q", warn1)
	}
	info, err := os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", info.Mode().Perm())
	}
	ring2, _, err := Resolve(Settings{Development: true, DataDir: dir, Key: Placeholder})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("hello")
	if !ring2.For(PurposeSession).Verify(msg, ring1.For(PurposeSession).Sign(msg)) {
		t.Fatal("restart did not reuse the stored key")
	}
	// A loosened mode is tightened again.
	os.Chmod(filepath.Join(dir, FileName), 0o644)
	if _, _, err := Resolve(Settings{Development: true, DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	info, _ = os.Stat(filepath.Join(dir, FileName))
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v after restart, want 0600", info.Mode().Perm())
	}
}

func TestPurposesAreIndependent(t *testing.T) {
	ring := NewKeyring(goodKey)
	msg := []byte("user:1")
	mac := ring.For(PurposeSession).Sign(msg)
	if ring.For(PurposePasswordReset).Verify(msg, mac) {
		t.Fatal("a session signature verified as a reset signature")
	}
	if !ring.For(PurposeSession).Verify(msg, mac) {
		t.Fatal("own signature did not verify")
	}
	if ring.For(PurposeSession).Verify([]byte("user:2"), mac) {
		t.Fatal("signature verified for another message")
	}
}

func TestRotationWithFallbacks(t *testing.T) {
	oldKey := strings.Repeat("o", 40)
	newKey := strings.Repeat("n", 40)
	before := NewKeyring(oldKey)
	after := NewKeyring(newKey, oldKey)
	unrelated := NewKeyring(strings.Repeat("u", 40))

	msg := []byte("reset:42")
	mac := before.For(PurposePasswordReset).Sign(msg)
	if !after.For(PurposePasswordReset).Verify(msg, mac) {
		t.Fatal("signature made with the old key rejected after rotation")
	}
	if unrelated.For(PurposePasswordReset).Verify(msg, mac) {
		t.Fatal("signature verified under an unrelated key")
	}

	secret := []byte("JBSWY3DPEHPK3PXP")
	sealed := before.For(PurposeTOTPSecret).Seal(secret, []byte("user:7"))
	pt, stale, err := after.For(PurposeTOTPSecret).Open(sealed, []byte("user:7"))
	if err != nil || !bytes.Equal(pt, secret) || !stale {
		t.Fatalf("open after rotation: %q stale=%v err=%v", pt, stale, err)
	}
	resealed := after.For(PurposeTOTPSecret).Seal(pt, []byte("user:7"))
	if _, stale, err := after.For(PurposeTOTPSecret).Open(resealed, []byte("user:7")); err != nil || stale {
		t.Fatalf("resealed value: stale=%v err=%v", stale, err)
	}
	if _, _, err := after.For(PurposeTOTPSecret).Open(sealed, []byte("user:8")); err == nil {
		t.Fatal("sealed value opened with other additional data")
	}
	if _, _, err := unrelated.For(PurposeTOTPSecret).Open(sealed, []byte("user:7")); err == nil {
		t.Fatal("sealed value opened with an unrelated key")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	if _, _, err := after.For(PurposeTOTPSecret).Open(tampered, []byte("user:7")); err == nil {
		t.Fatal("tampered value opened")
	}
	if _, _, err := after.For(PurposeTOTPSecret).Open([]byte("short"), nil); err == nil {
		t.Fatal("truncated value opened")
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the plaintext")
	}
}

func TestGenerate(t *testing.T) {
	a, b := Generate(), Generate()
	if len(a) != 64 || a == b {
		t.Fatalf("Generate: %q %q", a, b)
	}
}
