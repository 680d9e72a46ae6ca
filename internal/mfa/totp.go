// Package mfa holds the second-factor primitives: TOTP (RFC 6238) codes
// and their otpauth URIs, and backup codes. It knows nothing of users or
// storage; the gatehouse package applies the rules (replay, single use)
// and the store keeps the state.
package mfa

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// TOTP parameters (docs/posthog-compat.md#totp): django-otp's defaults.
const (
	// SecretSize is the length of a TOTP secret in bytes.
	SecretSize = 20
	// Digits is the length of a code.
	Digits = 6
	// StepSeconds is the length of a time step.
	StepSeconds = 30
	// Tolerance is how many steps before and after the current one are
	// accepted, for clock drift between server and phone.
	Tolerance = 1
)

// b32 is RFC 4648 base32 without padding, as authenticator apps read it.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewSecret returns a fresh random TOTP secret.
func NewSecret() []byte {
	b := make([]byte, SecretSize)
	if _, err := rand.Read(b); err != nil {
		panic("mfa: crypto/rand failed: " + err.Error())
	}
	return b
}

// EncodeSecret returns the base32 form users type into an authenticator
// (32 characters for a 20-byte secret).
func EncodeSecret(secret []byte) string { return b32.EncodeToString(secret) }

// DecodeSecret parses a base32 secret, ignoring case, spaces and padding.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.TrimRight(strings.ToUpper(strings.ReplaceAll(s, " ", "")), "=")
	return b32.DecodeString(s)
}

// Step returns the RFC 6238 time step (T0 = 0) that t falls in.
func Step(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return -1
	}
	return u / StepSeconds
}

// Code returns the 6-digit code of secret at step.
func Code(secret []byte, step int64) string { return hotp(secret, step, Digits) }

// hotp is RFC 4226 HOTP with HMAC-SHA1, digits long, zero-padded.
func hotp(secret []byte, counter int64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(counter))
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	s := strconv.FormatUint(uint64(v%mod), 10)
	return strings.Repeat("0", digits-len(s)) + s
}

// NormalizeCode strips the spaces and dashes people type inside a code.
func NormalizeCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, strings.TrimSpace(code))
}

// IsTOTPFormat reports whether code looks like a TOTP code (6 digits).
func IsTOTPFormat(code string) bool {
	if len(code) != Digits {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Match looks for code among the steps within Tolerance of now that are
// later than lastStep (a step already used, or earlier, cannot be used
// again: replay protection). It returns the step that matched. Every
// candidate is compared, in constant time, whatever matches.
func Match(secret []byte, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code = NormalizeCode(code)
	if !IsTOTPFormat(code) {
		return 0, false
	}
	cur := Step(now)
	for s := cur - Tolerance; s <= cur+Tolerance; s++ {
		eq := subtle.ConstantTimeCompare([]byte(Code(secret, s)), []byte(code)) == 1
		if eq && s > lastStep && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// URI returns the otpauth:// URI that authenticator apps scan from a QR
// code (Google Authenticator's key-uri format).
func URI(secret []byte, issuer, account string) string {
	label := url.PathEscape(issuer) + ":" + url.PathEscape(account)
	q := url.Values{}
	q.Set("secret", EncodeSecret(secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", "SHA1")
	q.Set("digits", strconv.Itoa(Digits))
	q.Set("period", strconv.Itoa(StepSeconds))
	return "otpauth://totp/" + label + "?" + q.Encode()
}
