package gatehouse

import (
	"strings"
	"testing"
)

func TestProjectTokenFormat(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		tok := NewProjectToken()
		if !strings.HasPrefix(tok, "phc_") || len(tok) != 4+44 {
			t.Fatalf("project token %q: want phc_ and 44 characters", tok)
		}
		for _, c := range tok[4:] {
			if !strings.ContainsRune(base57Alphabet, c) {
				t.Fatalf("token %q has %q outside base57", tok, c)
			}
		}
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
		for _, sec := range []string{NewProjectSecret().Reveal(), NewPersonalAPIKey().Reveal()} {
			if (!strings.HasPrefix(sec, "phs_") && !strings.HasPrefix(sec, "phx_")) || (len(sec) != 4+48+6 && len(sec) != 4+49+6) {
				t.Fatalf("secret %q: want phs_/phx_, 48 or 49 characters and a 6-character checksum", sec)
			}
			if CheckTokenChecksum(sec) != nil || !HasTokenChecksum(sec) {
				t.Fatalf("fresh secret %q fails its checksum", sec)
			}
		}
	}
}

func TestEncodeBase57(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{[]byte{0}, "2"},
		{[]byte{56}, "Z"},
		{[]byte{57}, "32"},
		{[]byte{1, 0}, "6v"}, // 256 = 4*57 + 28 → alphabet[4]="6", alphabet[28]="v"
	} {
		if got := encodeBase57(tc.in); got != tc.want {
			t.Errorf("encodeBase57(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSecretRedacts(t *testing.T) {
	s := Secret("phs_supersecret")
	for _, got := range []string{s.String(), s.GoString(), s.LogValue().String()} {
		if strings.Contains(got, "supersecret") {
			t.Fatalf("secret leaked: %q", got)
		}
	}
	if s.Reveal() != "phs_supersecret" {
		t.Fatal("Reveal lost the value")
	}
}

func TestHashAndMask(t *testing.T) {
	// sha256("abc") is a well-known vector.
	if got := HashToken("abc"); got != "sha256$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashToken = %q", got)
	}
	if got := MaskToken("phs_abcdefghijklmnopWXYZ"); got != "phs_...WXYZ" {
		t.Fatalf("MaskToken = %q", got)
	}
	if got := MaskToken("short"); got != "********" {
		t.Fatalf("MaskToken short = %q", got)
	}
}
