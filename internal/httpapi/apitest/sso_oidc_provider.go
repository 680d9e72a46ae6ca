package apitest

import (
	"net/url"
	"strings"
)

// oidcRound starts at /login/dex/, follows the provider's redirects
// (authorization, interactions, consent) and returns where Gatehouse sent
// the browser after the callback.
func (b *Browser) OidcRound() string {
	b.T.Helper()
	loc := b.Get("/login/dex/").Header.Get("Location")
	for range 12 {
		if loc == "" {
			b.T.Fatal("the provider stopped redirecting")
		}
		if strings.HasPrefix(loc, TestSiteURL) {
			resp := b.Get(loc)
			return resp.Header.Get("Location")
		}
		cur, err := url.Parse(loc)
		if err != nil {
			b.T.Fatal(err)
		}
		next := b.Get(loc).Header.Get("Location")
		if n, err := url.Parse(next); err == nil && next != "" {
			next = cur.ResolveReference(n).String()
		}
		loc = next
	}
	b.T.Fatal("too many redirects at the provider")
	return ""
}
