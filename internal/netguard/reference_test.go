package netguard

import (
	"net"
	"net/netip"
	"slices"
	"strings"
)

// This file holds a deliberately naive, independent reference implementation
// of the rules (linear scans with netip.Prefix.Contains, strings.Split and
// strings.Join exactly as the spec words them). Tests and fuzz targets compare
// the real implementation against it.

type refSettings struct {
	allowed  []netip.Prefix
	trusted  []netip.Prefix
	trustAll bool
	behind   bool
}

var refExemptPaths = []string{
	"/e", "/s", "/i/v0/e", "/capture", "/batch", "/engage", "/track", "/decide",
	"/flags", "/_health", "/i/v0/ai/batch", "/i/v1/analytics/events",
}

func refContains(blocks []netip.Prefix, a netip.Addr) bool {
	a = a.WithZone("")
	for _, p := range blocks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func refParse(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

func refPeer(remoteAddr string) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	return refParse(host)
}

func refClient(s refSettings, remoteAddr string, xffLines []string) (netip.Addr, bool) {
	peer, peerOK := refPeer(remoteAddr)
	if !s.behind {
		return peer, peerOK
	}
	var entries []string
	for _, e := range strings.Split(strings.Join(xffLines, ","), ",") {
		if e = strings.TrimSpace(e); e != "" {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return peer, peerOK
	}
	if !s.trustAll {
		if !peerOK || !refContains(s.trusted, peer) {
			return peer, false
		}
		for _, e := range entries[1:] {
			hop, ok := refParse(e)
			if !ok || !refContains(s.trusted, hop) {
				return peer, false
			}
		}
	}
	c, ok := refParse(entries[0])
	if !ok {
		return peer, false
	}
	return c, true
}

func refExempt(path string) bool {
	for len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	if slices.Contains(refExemptPaths, path) {
		return true
	}
	parts := strings.Split(path, "/")
	if len(parts) != 3 || parts[0] != "" || parts[1] != "static" || parts[2] == "" || strings.HasPrefix(parts[2], ".") {
		return false
	}
	for _, c := range parts[2] {
		if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", c) {
			return false
		}
	}
	return true
}

func refAdmit(s refSettings, remoteAddr string, xffLines []string, path string) bool {
	if len(s.allowed) == 0 || refExempt(path) {
		return true
	}
	c, known := refClient(s, remoteAddr, xffLines)
	return known && refContains(s.allowed, c)
}
