// Package secretkey turns SECRET_KEY (and SECRET_KEY_FALLBACKS) into the
// per-purpose keys that sign cookies and tokens and encrypt secrets at rest.
// It enforces the production rules for the key and, in DEBUG or TEST, makes
// and keeps a key of its own so a developer needs no set-up.
package secretkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// Placeholder is PostHog's default SECRET_KEY, refused in production.
const Placeholder = "<randomly generated secret key>"

// MinLength is the shortest SECRET_KEY accepted in production.
const MinLength = 32

// FileName is the file in the data directory that holds a generated key.
const FileName = "secret_key"

const howTo = "generate one with `gatehouse generate-secret` (or `openssl rand -hex 32`) and set it as SECRET_KEY"

// Settings is what Resolve needs from the configuration.
type Settings struct {
	Key       gatehouse.Secret
	Fallbacks []gatehouse.Secret
	// Development is DEBUG or TEST: a missing key is generated and kept in
	// DataDir instead of stopping start-up.
	Development bool
	DataDir     string
}

// Resolve validates the configured key and returns the keyring, plus
// warnings to log. Outside development an unset, empty, placeholder or short
// key is an error that says how to make a good one.
func Resolve(s Settings) (*Keyring, []string, error) {
	var warnings []string
	key := strings.TrimSpace(s.Key.Reveal())
	if problem := weakness(key); problem != "" {
		if !s.Development {
			return nil, nil, fmt.Errorf("SECRET_KEY %s; refusing to start outside DEBUG/TEST: %s", problem, howTo)
		}
		if key == "" || key == Placeholder {
			generated, created, err := loadOrGenerate(s.DataDir)
			if err != nil {
				return nil, nil, err
			}
			key = generated
			path := filepath.Join(s.DataDir, FileName)
			if created {
				warnings = append(warnings, "SECRET_KEY is not set: generated a development key and stored it in "+path+"; set SECRET_KEY before running in production")
			} else {
				warnings = append(warnings, "SECRET_KEY is not set: using the development key stored in "+path)
			}
		} else {
			warnings = append(warnings, "SECRET_KEY "+problem+"; accepted only because DEBUG/TEST is on")
		}
	}
	secrets := []string{key}
	for i, fb := range s.Fallbacks {
		v := strings.TrimSpace(fb.Reveal())
		if problem := weakness(v); problem != "" && !s.Development {
			return nil, nil, fmt.Errorf("SECRET_KEY_FALLBACKS item %d %s; every fallback must be a real former key", i+1, problem)
		}
		secrets = append(secrets, v)
	}
	return newKeyring(secrets), warnings, nil
}

// weakness says what is wrong with a key, or "" when it is acceptable.
func weakness(key string) string {
	switch {
	case key == "":
		return "is not set"
	case key == Placeholder:
		return "is the placeholder " + Placeholder
	case len(key) < MinLength:
		return fmt.Sprintf("is shorter than %d characters", MinLength)
	}
	return ""
}

// loadOrGenerate reads the development key from dir, creating it (mode
// 0600, never overwriting) when it does not exist.
func loadOrGenerate(dir string) (key string, created bool, err error) {
	path := filepath.Join(dir, FileName)
	if b, err := os.ReadFile(path); err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
				if err := os.Chmod(path, 0o600); err != nil {
					return "", false, fmt.Errorf("secret key file %s is readable by others and cannot be restricted: %w", path, err)
				}
			}
			return k, false, nil
		}
		return "", false, fmt.Errorf("secret key file %s is empty; delete it to generate a new key", path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", false, fmt.Errorf("reading secret key file: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, fmt.Errorf("creating data directory: %w", err)
	}
	key = Generate()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process made it first: use theirs.
		return loadOrGenerate(dir)
	}
	if err != nil {
		return "", false, fmt.Errorf("creating secret key file: %w", err)
	}
	if _, err := f.WriteString(key + "\n"); err != nil {
		f.Close()
		return "", false, fmt.Errorf("writing secret key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return "", false, fmt.Errorf("writing secret key file: %w", err)
	}
	return key, true, f.Close()
}

// Generate returns a new random key: 32 bytes from crypto/rand, as hex.
func Generate() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("secretkey: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Keyring holds the current key and the fallbacks, and derives from them the
// key for each purpose.
type Keyring struct {
	secrets [][]byte // [0] is current
}

func newKeyring(secrets []string) *Keyring {
	k := &Keyring{}
	for _, s := range secrets {
		k.secrets = append(k.secrets, []byte(s))
	}
	return k
}

// NewKeyring builds a keyring from a current key and fallbacks without the
// production checks; tests and tools use it.
func NewKeyring(current string, fallbacks ...string) *Keyring {
	return newKeyring(append([]string{current}, fallbacks...))
}

// Purpose names what a derived key is for. Two purposes never share a key.
type Purpose string

// The purposes Gatehouse derives keys for.
const (
	PurposeSession       Purpose = "session"
	PurposeCSRF          Purpose = "csrf"
	PurposePasswordReset Purpose = "password-reset"
	PurposeEmailVerify   Purpose = "email-verification"
	PurposeEmailMFA      Purpose = "email-mfa"
	PurposeRememberDev   Purpose = "remember-device"
	PurposeTOTPSecret    Purpose = "totp-secret-encryption"
	// PurposeSocialLogin seals the short-lived cookie that binds a social
	// login's state, PKCE verifier and nonce to the browser.
	PurposeSocialLogin Purpose = "social-login"
	// PurposeAuditLog signs the security audit log's hash chain.
	PurposeAuditLog Purpose = "audit-log"
)

// For returns the keys for one purpose, derived with HKDF-SHA256 from every
// secret on the ring (current first).
func (k *Keyring) For(p Purpose) *Key {
	sub := &Key{}
	for _, s := range k.secrets {
		d, err := hkdf.Key(sha256.New, s, []byte("gatehouse/v1"), string(p), 32)
		if err != nil {
			panic("secretkey: hkdf: " + err.Error())
		}
		sub.keys = append(sub.keys, d)
	}
	return sub
}

// Key is the derived key of one purpose: the current one signs and
// encrypts, and every one (current and fallbacks) verifies and decrypts.
type Key struct {
	keys [][]byte
}

// Sign returns the HMAC-SHA256 of msg under the current key.
func (k *Key) Sign(msg []byte) []byte {
	m := hmac.New(sha256.New, k.keys[0])
	m.Write(msg)
	return m.Sum(nil)
}

// Verify reports whether mac is msg's HMAC under the current key or any
// fallback, comparing in constant time.
func (k *Key) Verify(msg, mac []byte) bool {
	ok := false
	for _, key := range k.keys {
		m := hmac.New(sha256.New, key)
		m.Write(msg)
		if hmac.Equal(m.Sum(nil), mac) {
			ok = true
		}
	}
	return ok
}

// Seal encrypts plaintext with AES-256-GCM under the current key, binding
// it to additional (for example the owning row's id). The nonce is random
// and prefixed to the result.
func (k *Key) Seal(plaintext, additional []byte) []byte {
	aead := newAEAD(k.keys[0])
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("secretkey: crypto/rand failed: " + err.Error())
	}
	return aead.Seal(nonce, nonce, plaintext, additional)
}

// ErrUndecryptable means no key on the ring opens a sealed value: it was
// tampered with, bound to other data, or sealed under a key since removed.
var ErrUndecryptable = errors.New("secretkey: value cannot be decrypted with the current key or any fallback")

// Open decrypts what Seal produced, trying the current key and then each
// fallback. stale reports that a fallback was needed, so the caller can
// re-seal the value under the current key.
func (k *Key) Open(sealed, additional []byte) (plaintext []byte, stale bool, err error) {
	for i, key := range k.keys {
		aead := newAEAD(key)
		if len(sealed) < aead.NonceSize()+aead.Overhead() {
			return nil, false, ErrUndecryptable
		}
		nonce, box := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
		if pt, err := aead.Open(nil, nonce, box, additional); err == nil {
			return pt, i > 0, nil
		}
	}
	return nil, false, ErrUndecryptable
}

func newAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic("secretkey: " + err.Error())
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("secretkey: " + err.Error())
	}
	return aead
}
