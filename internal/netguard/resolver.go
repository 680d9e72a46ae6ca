package netguard

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// xffHeader is the canonical form of the X-Forwarded-For header key.
const xffHeader = "X-Forwarded-For"

// Resolver finds the client address of a request according to the
// IS_BEHIND_PROXY, TRUSTED_PROXIES and TRUST_ALL_PROXIES settings. A Resolver
// is immutable and safe for concurrent use. A nil Resolver behaves like one
// that is not behind a proxy.
type Resolver struct {
	trusted     *AllowList
	trustAll    bool
	behindProxy bool
}

// NewResolver returns a Resolver. trustedProxies are the TRUSTED_PROXIES
// blocks; trustAllProxies disables the check that every hop is a trusted
// proxy; behindProxy enables X-Forwarded-For, which is otherwise ignored.
func NewResolver(trustedProxies []netip.Prefix, trustAllProxies, behindProxy bool) *Resolver {
	return &Resolver{
		trusted:     NewAllowList(trustedProxies),
		trustAll:    trustAllProxies,
		behindProxy: behindProxy,
	}
}

// ClientAddr returns the client address and whether it is known. When not
// known, addr is the peer (RemoteAddr) address if that parses (so rate limits
// can still key on something unspoofable), else the zero netip.Addr.
//
// Without a proxy the peer address is the client. Behind a proxy the
// left-most non-empty X-Forwarded-For entry (all header lines joined with
// ",") is the client; unless all proxies are trusted, the peer and every
// later entry must be inside the trusted proxies or the client is unknown.
// Returned addresses are unmapped (::ffff:a.b.c.d becomes a.b.c.d) and carry
// no zone.
func (r *Resolver) ClientAddr(req *http.Request) (addr netip.Addr, known bool) {
	peer, peerOK := parseRemoteAddr(req.RemoteAddr)
	if r == nil || !r.behindProxy {
		return peer, peerOK
	}

	var first string
	haveFirst := false
	// Only consulted (and only kept up to date) when !r.trustAll.
	hopsTrusted := !r.trustAll && peerOK && r.trusted.Contains(peer)
	for _, line := range req.Header[xffHeader] {
		rest := line
		for {
			entry, after, more := strings.Cut(rest, ",")
			entry = strings.TrimSpace(entry)
			if entry != "" {
				if !haveFirst {
					first, haveFirst = entry, true
				} else if hopsTrusted {
					hop, ok := parseAddr(entry)
					hopsTrusted = ok && r.trusted.Contains(hop)
				}
			}
			if !more {
				break
			}
			rest = after
		}
	}
	if !haveFirst {
		return peer, peerOK
	}
	if !r.trustAll && !hopsTrusted {
		return peer, false
	}
	client, ok := parseAddr(first)
	if !ok {
		return peer, false
	}
	return client, true
}

// parseAddr parses a bare address, unmapping IPv4-mapped IPv6 addresses and
// dropping any zone. On failure it returns the zero Addr.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// parseRemoteAddr parses http.Request.RemoteAddr, normally "host:port" but
// also accepted as a bare address.
func parseRemoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		return parseAddr(host)
	}
	return parseAddr(s)
}
