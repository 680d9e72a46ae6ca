package mfa

import (
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rfcSecret is the SHA-1 seed of RFC 6238 Appendix B.
var rfcSecret = []byte("12345678901234567890")

func TestRFC6238AppendixB(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		want string // 8 digits, SHA-1 column
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		step := Step(time.Unix(tc.unix, 0))
		if got := hotp(rfcSecret, step, 8); got != tc.want {
			t.Errorf("T=%d: 8-digit code %s, want %s", tc.unix, got, tc.want)
		}
		// The 6-digit code is the last six digits of the 8-digit one.
		if got := Code(rfcSecret, step); got != tc.want[2:] {
			t.Errorf("T=%d: code %s, want %s", tc.unix, got, tc.want[2:])
		}
	}
}

func TestMatchToleranceAndReplay(t *testing.T) {
	secret := NewSecret()
	now := time.Unix(1_700_000_015, 0) // the middle of a step
	cur := Step(now)
	for _, tc := range []struct {
		name     string
		step     int64
		lastStep int64
		ok       bool
	}{
		{"current step", cur, 0, true},
		{"one step behind", cur - 1, 0, true},
		{"one step ahead", cur + 1, 0, true},
		{"two steps behind", cur - 2, 0, false},
		{"two steps ahead", cur + 2, 0, false},
		{"step already used", cur, cur, false},
		{"earlier than the used step", cur - 1, cur, false},
		{"later than the used step", cur + 1, cur, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := Match(secret, Code(secret, tc.step), now, tc.lastStep)
			if ok != tc.ok || (ok && got != tc.step) {
				t.Fatalf("Match = %d, %v; want %d, %v", got, ok, tc.step, tc.ok)
			}
		})
	}
	// Edges of the window: the first and last second of the steps around.
	code := Code(secret, cur)
	for _, at := range []time.Time{
		time.Unix((cur-1)*StepSeconds, 0),   // first second of the previous step
		time.Unix((cur+2)*StepSeconds-1, 0), // last second of the next step
	} {
		if _, ok := Match(secret, code, at, 0); !ok {
			t.Errorf("code of step %d refused at %d", cur, at.Unix())
		}
	}
	for _, at := range []time.Time{
		time.Unix((cur-1)*StepSeconds-1, 0), // last second two steps before
		time.Unix((cur+2)*StepSeconds, 0),   // first second two steps after
	} {
		if _, ok := Match(secret, code, at, 0); ok {
			t.Errorf("code of step %d accepted at %d", cur, at.Unix())
		}
	}
}

func TestMatchRejectsMalformed(t *testing.T) {
	secret := NewSecret()
	now := time.Now()
	code := Code(secret, Step(now))
	for _, bad := range []string{"", "12345", "1234567", "abcdef", code + "0", "٠١٢٣٤٥", strings.Repeat("9", 1000)} {
		if _, ok := Match(secret, bad, now, 0); ok {
			t.Errorf("accepted %q", bad)
		}
	}
	if _, ok := Match(secret, code[:3]+" "+code[3:], now, 0); !ok {
		t.Error("a code typed with a space inside refused")
	}
	if _, ok := Match(NewSecret(), code, now, 0); ok {
		t.Error("another secret's code accepted")
	}
}

func TestSecretEncodingAndURI(t *testing.T) {
	s := NewSecret()
	enc := EncodeSecret(s)
	if len(enc) != 32 || strings.ContainsAny(enc, "=") {
		t.Fatalf("encoded secret %q", enc)
	}
	back, err := DecodeSecret(strings.ToLower(enc[:4]) + " " + enc[4:])
	if err != nil || string(back) != string(s) {
		t.Fatalf("decode: %v", err)
	}
	u, err := url.Parse(URI(s, "Gatehouse", "ada@example.com"))
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("uri %v %v", u, err)
	}
	q := u.Query()
	if q.Get("secret") != enc || q.Get("issuer") != "Gatehouse" || q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Fatalf("uri query %v", q)
	}
	if u.Path != "/Gatehouse:ada@example.com" {
		t.Fatalf("uri label %q", u.Path)
	}
}

func TestBackupCodes(t *testing.T) {
	codes := NewBackupCodes(BackupCodeCount)
	if len(codes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if !IsBackupCodeFormat(c) || seen[c] {
			t.Fatalf("bad or repeated code %q", c)
		}
		seen[c] = true
	}
	key := NewSecret()
	h := HashBackupCode(key, codes[0])
	if h == codes[0] || strings.Contains(h, codes[0]) || len(h) != 64 {
		t.Fatalf("hash %q", h)
	}
	if HashBackupCode(key, " "+strings.ToUpper(codes[0][:4])+"-"+codes[0][4:]) != h {
		t.Fatal("typed variants of a code hash differently")
	}
	if HashBackupCode(NewSecret(), codes[0]) == h {
		t.Fatal("the hash does not depend on the key")
	}
	for _, bad := range []string{"", "abcdefg", "abcdefgh1", "abcdefg1", "ABCDEFGH"} {
		if IsBackupCodeFormat(bad) {
			t.Errorf("%q accepted as a backup code", bad)
		}
	}
}

// TestAgainstOathtool cross-checks with oathtool(1) when it is installed.
func TestAgainstOathtool(t *testing.T) {
	path, err := exec.LookPath("oathtool")
	if err != nil {
		t.Skip("oathtool not installed (apt-get install oathtool); the RFC 6238 vectors cover the algorithm")
	}
	s := NewSecret()
	now := time.Now()
	out, err := exec.Command(path, "--totp", "--base32", "--now", now.UTC().Format("2006-01-02 15:04:05 UTC"), EncodeSecret(s)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(out)), Code(s, Step(now)); got != want {
		t.Fatalf("oathtool %s, we %s (step %s)", got, want, strconv.FormatInt(Step(now), 10))
	}
}
