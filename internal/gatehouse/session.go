package gatehouse

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// Session is a signed-in browser. Only the hash of its key is stored; the
// key itself lives in the sessionid cookie.
type Session struct {
	// PublicID names the session in the login-sessions API without
	// revealing its key.
	PublicID       string
	UserID         int64
	CreatedAt      time.Time // login time: the absolute lifetime counts from here
	ExpiresAt      time.Time
	LastActivityAt time.Time
	ClientIP       string
	UserAgent      string
	LoginMethod    string
}

// Expired reports whether the session has ended at now.
func (s *Session) Expired(now time.Time) bool { return !now.Before(s.ExpiresAt) }

// NewSessionKey returns a fresh session key (256 random bits, URL-safe
// base64) and the hash under which it is stored.
func NewSessionKey() (key Secret, keyHash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("gatehouse: crypto/rand failed: " + err.Error())
	}
	k := base64.RawURLEncoding.EncodeToString(b)
	return Secret(k), HashSessionKey(k)
}

// HashSessionKey returns the stored form of a session key.
func HashSessionKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// SessionLifetime is how long a session lasts from login: the organization's
// session_cookie_age when it sets one, else the instance default.
func SessionLifetime(org *Organization, instanceDefault time.Duration) time.Duration {
	if org != nil && org.SessionCookieAge != nil && *org.SessionCookieAge > 0 {
		return time.Duration(*org.SessionCookieAge) * time.Second
	}
	return instanceDefault
}
