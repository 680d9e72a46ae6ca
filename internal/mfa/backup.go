package mfa

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// Backup-code numbers (docs/posthog-compat.md#backup-codes).
const (
	// BackupCodeCount is how many codes a user gets at a time.
	BackupCodeCount = 10
	// BackupCodeLength is the length of a code: 5 random bytes in base32.
	BackupCodeLength = 8
)

var lowerB32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewBackupCodes returns n fresh codes, each 8 characters of lowercase
// base32 (40 random bits), all different.
func NewBackupCodes(n int) []string {
	seen := make(map[string]bool, n)
	out := make([]string, 0, n)
	for len(out) < n {
		b := make([]byte, 5)
		if _, err := rand.Read(b); err != nil {
			panic("mfa: crypto/rand failed: " + err.Error())
		}
		c := lowerB32.EncodeToString(b)
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}

// NormalizeBackupCode lower-cases a typed code and drops spaces and dashes.
func NormalizeBackupCode(code string) string { return strings.ToLower(NormalizeCode(code)) }

// IsBackupCodeFormat reports whether code (normalized) can be a backup code.
func IsBackupCodeFormat(code string) bool {
	if len(code) != BackupCodeLength {
		return false
	}
	_, err := lowerB32.DecodeString(code)
	return err == nil
}

// HashBackupCode returns the stored form of a backup code: an HMAC-SHA256
// keyed with the user's TOTP secret. 40 bits would fall to brute force if a
// plain hash leaked with the database; the key is itself encrypted at rest
// under SECRET_KEY, so the stored hashes are useless without it.
func HashBackupCode(totpSecret []byte, code string) string {
	m := hmac.New(sha256.New, totpSecret)
	m.Write([]byte("gatehouse/backup-code\x00"))
	m.Write([]byte(NormalizeBackupCode(code)))
	return hex.EncodeToString(m.Sum(nil))
}
