// Package netguard resolves the client address of a request behind proxies
// and enforces the IP allow-list, mirroring PostHog's ALLOWED_IP_BLOCKS,
// TRUSTED_PROXIES, TRUST_ALL_PROXIES and IS_BEHIND_PROXY settings.
//
// The rules are:
//
//   - Without IS_BEHIND_PROXY the peer address (RemoteAddr) is the client and
//     X-Forwarded-For is ignored entirely.
//   - Behind a proxy, the left-most non-empty X-Forwarded-For entry is the
//     client. Unless all proxies are trusted, every other hop (RemoteAddr and
//     each later X-Forwarded-For entry) must lie inside TRUSTED_PROXIES,
//     otherwise the client address is unknown.
//   - When ALLOWED_IP_BLOCKS is non-empty, a request whose path is not exempt
//     (IsExemptPath: the credential-free SDK endpoints only) is admitted
//     only if its client address is known and inside a block.
package netguard

import (
	"fmt"
	"net/netip"
	"strings"
)

// BlockedMessage is the exact plain-text body of the 403 response sent to
// clients outside the allow-list.
const BlockedMessage = "Your IP is not allowed. Check your ALLOWED_IP_BLOCKS settings. If you are behind a proxy, you need to set TRUSTED_PROXIES."

// ParsePrefixes parses a comma-separated list of addresses and CIDR blocks.
// Items are trimmed and empty items are skipped. A bare address becomes a
// single-address block (/32 or /128, zone dropped); host bits in a CIDR block
// are masked off. The error names the offending item, e.g.
// `"10.0.0.300" is not an IP address or CIDR block`. An empty list yields a
// nil slice and no error.
func ParsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, ok := parsePrefix(item)
		if !ok {
			return nil, fmt.Errorf("%q is not an IP address or CIDR block", item)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(item string) (netip.Prefix, bool) {
	if strings.Contains(item, "/") {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(item)
	if err != nil {
		return netip.Prefix{}, false
	}
	a = a.WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), true
}

// exemptPaths are the endpoints PostHog's SDKs call without a credential:
// event capture, flag evaluation with the public project token, and the
// health check. Nothing served on them reads a session or a personal API
// key.
var exemptPaths = map[string]bool{
	"/e": true, "/s": true, "/i/v0/e": true, "/capture": true, "/batch": true, "/engage": true, "/track": true,
	"/decide": true, "/flags": true, "/_health": true,
	"/i/v0/ai/batch": true, "/i/v1/analytics/events": true,
}

// IsExemptPath reports whether path is exempt from the allow-list: one of
// the credential-free SDK endpoints exactly (capture, /flags and /decide
// evaluation, /_health), with or without trailing slashes, or a file
// directly under /static/. Everything else, including every path that
// takes a session or a key and /flags/definitions, is behind the
// allow-list. The match is exact and case-sensitive on the decoded path,
// so double slashes, dot segments, encoded slashes and look-alike
// segments ("/flags.", "/FLAGS", "/flags/../api") are never exempt.
func IsExemptPath(path string) bool {
	if len(path) > 1 {
		path = strings.TrimRight(path, "/")
	}
	if exemptPaths[path] {
		return true
	}
	name, ok := strings.CutPrefix(path, "/static/")
	return ok && staticName(name)
}

// staticName reports whether name is a plain file name: letters, digits,
// '-', '_' and '.', not starting with a dot (so never "." or "..").
func staticName(name string) bool {
	if name == "" || name[0] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
