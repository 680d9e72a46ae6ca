package netguard

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

type ruleCase struct {
	name     string
	allowed  string // ALLOWED_IP_BLOCKS
	trusted  string // TRUSTED_PROXIES
	trustAll bool   // TRUST_ALL_PROXIES
	behind   bool   // IS_BEHIND_PROXY
	remote   string // RemoteAddr
	xff      []string

	wantAddr    string // "" means the zero netip.Addr
	wantKnown   bool
	wantAllowed bool // on a non-exempt path
}

var ruleCases = []ruleCase{
	// No proxy: the peer is the client, XFF is ignored.
	{
		name: "no proxy, peer inside", allowed: "192.168.0.0/16",
		remote:   "192.168.1.1:5555",
		wantAddr: "192.168.1.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "no proxy, peer outside", allowed: "192.168.0.0/16",
		remote:   "8.8.8.8:5555",
		wantAddr: "8.8.8.8", wantKnown: true, wantAllowed: false,
	},
	{
		name: "no proxy, spoofed XFF ignored", allowed: "192.168.0.0/16",
		remote: "8.8.8.8:5555", xff: []string{"192.168.0.1"},
		wantAddr: "8.8.8.8", wantKnown: true, wantAllowed: false,
	},
	{
		name: "no proxy, spoofed XFF ignored even with trusted proxies and trustAll", allowed: "192.168.0.0/16",
		trusted: "8.8.8.8", trustAll: true,
		remote: "8.8.8.8:5555", xff: []string{"192.168.0.1"},
		wantAddr: "8.8.8.8", wantKnown: true, wantAllowed: false,
	},
	{
		name: "no proxy, garbage XFF does not matter", allowed: "192.168.0.0/16",
		remote: "192.168.1.1:5555", xff: []string{"unknown, 1.2.3.4:80"},
		wantAddr: "192.168.1.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "bare RemoteAddr accepted", allowed: "192.168.0.0/16",
		remote:   "192.168.1.1",
		wantAddr: "192.168.1.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "bare IPv6 RemoteAddr accepted", allowed: "2001:db8::/32",
		remote:   "2001:db8::1",
		wantAddr: "2001:db8::1", wantKnown: true, wantAllowed: true,
	},

	// Behind a proxy.
	{
		name: "trusted single hop", allowed: "192.168.0.0/16", trusted: "10.0.0.1", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1"},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "trusted single hop, client outside", allowed: "192.168.0.0/16", trusted: "10.0.0.1", behind: true,
		remote: "10.0.0.1:443", xff: []string{"8.8.8.8"},
		wantAddr: "8.8.8.8", wantKnown: true, wantAllowed: false,
	},
	{
		name: "untrusted peer", allowed: "192.168.0.0/16", trusted: "10.0.0.1", behind: true,
		remote: "10.0.0.9:443", xff: []string{"192.168.0.1"},
		wantAddr: "10.0.0.9", wantKnown: false, wantAllowed: false,
	},
	{
		name: "no trusted proxies configured", allowed: "192.168.0.0/16", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "trusted CIDR proxies", allowed: "192.168.0.0/16", trusted: "10.0.0.0/8, 172.16.0.0/12", behind: true,
		remote: "10.20.30.40:443", xff: []string{"192.168.7.7, 172.17.0.1"},
		wantAddr: "192.168.7.7", wantKnown: true, wantAllowed: true,
	},
	{
		name: "multi-hop all trusted", allowed: "192.168.0.0/16", trusted: "10.0.0.1,10.0.0.2,10.0.0.3", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1, 10.0.0.3, 10.0.0.2"},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "one untrusted hop in the middle", allowed: "192.168.0.0/16", trusted: "10.0.0.1,10.0.0.2", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1, 6.6.6.6, 10.0.0.2"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "spoofing example blocked", allowed: "192.168.0.0/16", trusted: "10.0.0.1", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1,10.0.0.2"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "spoofing example allowed with trustAll", allowed: "192.168.0.0/16", trusted: "10.0.0.1", trustAll: true, behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1,10.0.0.2"},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "trustAll ignores untrusted peer", allowed: "192.168.0.0/16", trustAll: true, behind: true,
		remote: "8.8.8.8:443", xff: []string{"192.168.0.1"},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "trustAll with unparsable client", allowed: "192.168.0.0/16", trustAll: true, behind: true,
		remote: "10.0.0.1:443", xff: []string{"unknown, 10.0.0.2"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "XFF client with port blocked", allowed: "192.168.0.0/16", trusted: "10.0.0.1", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1:80"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "XFF client with port blocked under trustAll", allowed: "192.168.0.0/16", trustAll: true, behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1:80"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "XFF hop with port is untrusted", allowed: "192.168.0.0/16", trusted: "10.0.0.0/8", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1, 10.0.0.2:80"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "XFF unknown blocked", allowed: "192.168.0.0/16", trusted: "10.0.0.1", behind: true,
		remote: "10.0.0.1:443", xff: []string{"unknown"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "XFF bracketed IPv6 is unparsable", allowed: "2001:db8::/32", trusted: "10.0.0.1", behind: true,
		remote: "10.0.0.1:443", xff: []string{"[2001:db8::1]"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "empty and whitespace XFF entries ignored", allowed: "192.168.0.0/16", trusted: "10.0.0.1,10.0.0.2", behind: true,
		remote: "10.0.0.1:443", xff: []string{" , ,192.168.0.1 ,, \t10.0.0.2 , "},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "only empty XFF entries fall back to RemoteAddr", allowed: "192.168.0.0/16", trusted: "10.0.0.1", behind: true,
		remote: "192.168.5.5:443", xff: []string{" , ,\t,", ""},
		wantAddr: "192.168.5.5", wantKnown: true, wantAllowed: true,
	},
	{
		name: "empty XFF header falls back to untrusted RemoteAddr", allowed: "192.168.0.0/16", behind: true,
		remote: "192.168.5.5:443", xff: []string{""},
		wantAddr: "192.168.5.5", wantKnown: true, wantAllowed: true,
	},
	{
		name: "no XFF header behind proxy uses RemoteAddr", allowed: "192.168.0.0/16", trusted: "10.0.0.1", behind: true,
		remote:   "8.8.8.8:443",
		wantAddr: "8.8.8.8", wantKnown: true, wantAllowed: false,
	},
	{
		name: "multiple XFF header lines joined, first line wins", allowed: "192.168.0.0/16", trusted: "10.0.0.0/8", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1", "10.0.0.2, 10.0.0.3"},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "multiple XFF header lines, untrusted hop on second line", allowed: "192.168.0.0/16", trusted: "10.0.0.0/8", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1", "6.6.6.6"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: false,
	},
	{
		name: "multiple XFF header lines, empty first line", allowed: "192.168.0.0/16", trusted: "10.0.0.0/8", behind: true,
		remote: "10.0.0.1:443", xff: []string{"", " ", "192.168.0.1,", "10.0.0.2"},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},

	// Address forms.
	{
		name: "IPv4-mapped peer unmapped", allowed: "192.168.0.0/16",
		remote:   "[::ffff:192.168.1.1]:443",
		wantAddr: "192.168.1.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "IPv4-mapped peer matches trusted v4 proxy", allowed: "192.168.0.0/16", trusted: "10.0.0.1", behind: true,
		remote: "[::ffff:10.0.0.1]:443", xff: []string{"192.168.0.1"},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "IPv4-mapped XFF client and hop unmapped", allowed: "192.168.0.0/16", trusted: "10.0.0.0/8", behind: true,
		remote: "10.0.0.1:443", xff: []string{"::ffff:192.168.0.1, ::ffff:10.0.0.2"},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "IPv6 client inside IPv6 block", allowed: "2001:db8::/32", trusted: "fd00::/8", behind: true,
		remote: "[fd00::1]:443", xff: []string{"2001:db8:1::42"},
		wantAddr: "2001:db8:1::42", wantKnown: true, wantAllowed: true,
	},
	{
		name: "IPv6 client outside IPv6 block", allowed: "2001:db8::/32",
		remote:   "[2001:db9::1]:443",
		wantAddr: "2001:db9::1", wantKnown: true, wantAllowed: false,
	},
	{
		name: "IPv6 peer with zone", allowed: "fe80::/10",
		remote:   "[fe80::1%eth0]:443",
		wantAddr: "fe80::1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "IPv6 XFF client with zone", allowed: "fe80::/10", trusted: "10.0.0.1", behind: true,
		remote: "10.0.0.1:443", xff: []string{"fe80::1%eth0"},
		wantAddr: "fe80::1", wantKnown: true, wantAllowed: true,
	},
	{
		name: "v4 client never matches v6 block", allowed: "::/0",
		remote:   "192.168.1.1:443",
		wantAddr: "192.168.1.1", wantKnown: true, wantAllowed: false,
	},
	{
		name: "mapped v4 client never matches ::ffff:0:0/96", allowed: "::ffff:0:0/96",
		remote:   "[::ffff:192.168.1.1]:443",
		wantAddr: "192.168.1.1", wantKnown: true, wantAllowed: false,
	},
	{
		name: "v6 client never matches v4 block", allowed: "0.0.0.0/0",
		remote:   "[2001:db8::1]:443",
		wantAddr: "2001:db8::1", wantKnown: true, wantAllowed: false,
	},
	{
		name: "unparsable RemoteAddr blocked", allowed: "0.0.0.0/0,::/0",
		remote:   "not-an-address",
		wantAddr: "", wantKnown: false, wantAllowed: false,
	},
	{
		name: "empty RemoteAddr blocked", allowed: "0.0.0.0/0,::/0",
		remote:   "",
		wantAddr: "", wantKnown: false, wantAllowed: false,
	},
	{
		name: "unparsable RemoteAddr behind proxy is an untrusted hop", allowed: "0.0.0.0/0,::/0", trusted: "0.0.0.0/0", behind: true,
		remote: "pipe", xff: []string{"192.168.0.1"},
		wantAddr: "", wantKnown: false, wantAllowed: false,
	},
	{
		name: "unparsable RemoteAddr with trustAll still yields the XFF client", allowed: "192.168.0.0/16", trustAll: true, behind: true,
		remote: "@", xff: []string{"192.168.0.1"},
		wantAddr: "192.168.0.1", wantKnown: true, wantAllowed: true,
	},

	// Allow-list off.
	{
		name: "allow-list off admits unknown clients", trusted: "10.0.0.1", behind: true,
		remote: "10.0.0.1:443", xff: []string{"192.168.0.1,10.0.0.2"},
		wantAddr: "10.0.0.1", wantKnown: false, wantAllowed: true,
	},
	{
		name:     "allow-list off admits unparsable RemoteAddr",
		remote:   "garbage",
		wantAddr: "", wantKnown: false, wantAllowed: true,
	},
}

func (tc ruleCase) request(t testing.TB, path string) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = tc.remote
	for _, v := range tc.xff {
		req.Header.Add("X-Forwarded-For", v)
	}
	return req
}

func (tc ruleCase) settings(t testing.TB) refSettings {
	t.Helper()
	return refSettings{
		allowed:  mustPrefixes(t, tc.allowed),
		trusted:  mustPrefixes(t, tc.trusted),
		trustAll: tc.trustAll,
		behind:   tc.behind,
	}
}

func TestClientAddrRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.settings(t)
			res := NewResolver(s.trusted, s.trustAll, s.behind)
			addr, known := res.ClientAddr(tc.request(t, "/api/projects/"))

			var want netip.Addr
			if tc.wantAddr != "" {
				want = netip.MustParseAddr(tc.wantAddr)
			}
			if addr != want || known != tc.wantKnown {
				t.Fatalf("ClientAddr = (%v, %v), want (%v, %v)", addr, known, want, tc.wantKnown)
			}

			// The table must agree with the independent reference too.
			refAddr, refKnown := refClient(s, tc.remote, tc.xff)
			if refAddr != want || refKnown != tc.wantKnown {
				t.Fatalf("reference = (%v, %v), table says (%v, %v)", refAddr, refKnown, want, tc.wantKnown)
			}
		})
	}
}

func TestAllowListDecisionRules(t *testing.T) {
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.settings(t)
			h := Middleware(NewResolver(s.trusted, s.trustAll, s.behind), NewAllowList(s.allowed), okHandler(t))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tc.request(t, "/api/projects/"))

			allowed := rec.Code == http.StatusOK
			if allowed != tc.wantAllowed {
				t.Fatalf("allowed = %v (status %d), want %v", allowed, rec.Code, tc.wantAllowed)
			}
			if !allowed {
				assertBlocked(t, rec)
			}
			if ref := refAdmit(s, tc.remote, tc.xff, "/api/projects/"); ref != tc.wantAllowed {
				t.Fatalf("reference admit = %v, table says %v", ref, tc.wantAllowed)
			}

			// The same request on an exempt path always passes.
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, tc.request(t, "/e/"))
			if rec.Code != http.StatusOK {
				t.Fatalf("exempt path /e/: status %d, want 200", rec.Code)
			}
		})
	}
}

func TestNilResolver(t *testing.T) {
	var r *Resolver
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.RemoteAddr = "10.1.2.3:4"
	req.Header.Set("X-Forwarded-For", "192.168.0.1")
	addr, known := r.ClientAddr(req)
	if addr != netip.MustParseAddr("10.1.2.3") || !known {
		t.Fatalf("nil Resolver ClientAddr = (%v, %v), want (10.1.2.3, true)", addr, known)
	}
}
