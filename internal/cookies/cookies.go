// Package cookies is the one place Gatehouse sets and clears cookies, so
// every cookie gets the Secure flag from SECURE_COOKIES and safe defaults.
package cookies

import (
	"net/http"
	"time"
)

// Policy is the instance-wide cookie policy.
type Policy struct {
	// Secure sets the Secure attribute on every cookie (SECURE_COOKIES).
	Secure bool
}

// Options describe one cookie. The zero value is the safe default: path
// "/", HttpOnly, SameSite=Lax, a session cookie.
type Options struct {
	// MaxAge is the lifetime; zero makes a browser-session cookie.
	MaxAge time.Duration
	// ReadableByScript drops HttpOnly, for the CSRF cookie that the page's
	// JavaScript must read. Never set it on a credential.
	ReadableByScript bool
	// SameSite defaults to Lax.
	SameSite http.SameSite
	// Path defaults to "/".
	Path string
}

// Set writes a cookie.
func (p Policy) Set(w http.ResponseWriter, name, value string, o Options) {
	c := p.cookie(name, value, o)
	if o.MaxAge > 0 {
		c.MaxAge = int(o.MaxAge / time.Second)
		c.Expires = time.Now().Add(o.MaxAge).UTC()
	}
	http.SetCookie(w, c)
}

// Clear tells the browser to delete a cookie set with the same options.
func (p Policy) Clear(w http.ResponseWriter, name string, o Options) {
	c := p.cookie(name, "", o)
	c.MaxAge = -1
	c.Expires = time.Unix(0, 0).UTC()
	http.SetCookie(w, c)
}

func (p Policy) cookie(name, value string, o Options) *http.Cookie {
	c := &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     o.Path,
		Secure:   p.Secure,
		HttpOnly: !o.ReadableByScript,
		SameSite: o.SameSite,
	}
	if c.Path == "" {
		c.Path = "/"
	}
	if c.SameSite == 0 || c.SameSite == http.SameSiteDefaultMode {
		c.SameSite = http.SameSiteLaxMode
	}
	return c
}
