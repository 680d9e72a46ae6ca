package netguard

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// lenientPrefixes parses each comma-separated item on its own and keeps the
// valid ones, so that fuzzed settings are rarely thrown away whole.
func lenientPrefixes(list string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		if ps, err := ParsePrefixes(item); err == nil {
			out = append(out, ps...)
		}
	}
	return out
}

// FuzzClientAddr drives the full middleware with fuzzed RemoteAddr,
// X-Forwarded-For ("\n" separates header lines), settings and path, and checks
// the result against the independent reference in reference_test.go. Above
// all, a request must never reach next on a non-exempt path when the
// reference says its client is unknown or outside the allow-list.
func FuzzClientAddr(f *testing.F) {
	type seed struct {
		remote, xff, trusted, allowed, path string
		trustAll, behind                    bool
	}
	seeds := []seed{
		// The spoofing example, without and with TRUST_ALL_PROXIES.
		{"10.0.0.1:443", "192.168.0.1,10.0.0.2", "10.0.0.1", "192.168.0.0/16", "/api/", false, true},
		{"10.0.0.1:443", "192.168.0.1,10.0.0.2", "10.0.0.1", "192.168.0.0/16", "/api/", true, true},
		// Not behind a proxy: XFF is ignored.
		{"8.8.8.8:1", "192.168.0.1", "8.8.8.8", "192.168.0.0/16", "/", false, false},
		{"192.168.0.1:1", "", "", "192.168.0.0/16", "/api/users/@me/", false, false},
		// Trusted hops, CIDR proxies, multi-line headers.
		{"10.0.0.1:443", "192.168.0.1, 10.0.0.2", "10.0.0.0/8", "192.168.0.0/16", "/api/", false, true},
		{"10.0.0.1:443", "192.168.0.1\n10.0.0.2, 10.0.0.3", "10.0.0.0/8", "192.168.0.0/16", "/api/", false, true},
		{"10.0.0.1:443", "\n , ,\n192.168.0.1", "10.0.0.1", "192.168.0.0/16", "/api/", false, true},
		{"10.0.0.1:443", " , , ", "10.0.0.1", "10.0.0.0/8", "/api/", false, true},
		// Unparsable entries.
		{"10.0.0.1:443", "192.168.0.1:80", "10.0.0.1", "192.168.0.0/16", "/api/", false, true},
		{"10.0.0.1:443", "unknown", "10.0.0.1", "192.168.0.0/16", "/api/", true, true},
		{"10.0.0.1:443", "[2001:db8::1]", "10.0.0.1", "2001:db8::/32", "/api/", false, true},
		{"garbage", "192.168.0.1", "0.0.0.0/0", "0.0.0.0/0", "/api/", false, true},
		{"", "", "", "0.0.0.0/0,::/0", "/", false, false},
		{"@", "192.168.0.1", "", "192.168.0.0/16", "/api/", true, true},
		{"1.2.3.4:", "", "", "1.2.3.4", "/", false, false},
		{"[1.2.3.4]:80", "", "", "1.2.3.4", "/", false, false},
		// Address forms.
		{"[::ffff:10.0.0.1]:443", "::ffff:192.168.0.1", "10.0.0.1", "192.168.0.0/16", "/api/", false, true},
		{"[fd00::1]:443", "2001:db8::42", "fd00::/8", "2001:db8::/32", "/api/", false, true},
		{"[fe80::1%eth0]:443", "fe80::2%eth1", "fe80::/10", "fe80::/10", "/api/", false, true},
		{"192.168.1.1:1", "", "", "::/0", "/", false, false},
		{"[::ffff:192.168.1.1]:1", "", "", "::ffff:0:0/96", "/", false, false},
		{"2001:db8::1", "", "", "0.0.0.0/0", "/", false, false},
		// Exempt and near-exempt paths.
		{"8.8.8.8:1", "", "", "10.0.0.0/8", "/e/", false, false},
		{"8.8.8.8:1", "", "", "10.0.0.0/8", "/i/v0/e", false, false},
		{"8.8.8.8:1", "", "", "10.0.0.0/8", "/_healthz", false, false},
		{"8.8.8.8:1", "", "", "10.0.0.0/8", "e/x", false, false},
		{"8.8.8.8:1", "", "", "10.0.0.0/8", "", false, false},
		// Allow-list off.
		{"garbage", "unknown", "", "", "/api/", false, true},
	}
	for _, s := range seeds {
		f.Add(s.remote, s.xff, s.trusted, s.allowed, s.path, s.trustAll, s.behind)
	}

	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, known, ok := ClientFromContext(r.Context())
		if !ok {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("X-Reached", "yes")
		w.Header().Set("X-Addr", addr.String())
		if known {
			w.Header().Set("X-Known", "yes")
		}
	})

	f.Fuzz(func(t *testing.T, remote, xff, trusted, allowed, path string, trustAll, behind bool) {
		s := refSettings{
			allowed:  lenientPrefixes(allowed),
			trusted:  lenientPrefixes(trusted),
			trustAll: trustAll,
			behind:   behind,
		}
		header := http.Header{}
		var lines []string
		if xff != "" {
			lines = strings.Split(xff, "\n")
			header["X-Forwarded-For"] = lines
		}
		req := &http.Request{
			Method:     http.MethodGet,
			URL:        &url.URL{Path: path},
			Header:     header,
			RemoteAddr: remote,
		}

		res := NewResolver(s.trusted, s.trustAll, s.behind)
		allow := NewAllowList(s.allowed)

		wantAddr, wantKnown := refClient(s, remote, lines)
		addr, known := res.ClientAddr(req)
		if addr != wantAddr || known != wantKnown {
			t.Fatalf("ClientAddr = (%v, %v), reference (%v, %v)", addr, known, wantAddr, wantKnown)
		}
		if addr.Zone() != "" || addr.Is4In6() {
			t.Fatalf("ClientAddr returned a zoned or mapped address %v", addr)
		}

		rec := httptest.NewRecorder()
		Middleware(res, allow, next).ServeHTTP(rec, req)
		admitted := rec.Header().Get("X-Reached") == "yes"

		// The safety property, stated on its own.
		if admitted && len(s.allowed) > 0 && !refExempt(path) && !(wantKnown && refContains(s.allowed, wantAddr)) {
			t.Fatalf("admitted a client outside the allow-list: client (%v, %v), allowed %v, path %q", wantAddr, wantKnown, s.allowed, path)
		}
		// And the exact decision.
		if want := refAdmit(s, remote, lines, path); admitted != want {
			t.Fatalf("admitted = %v, reference %v (status %d)", admitted, want, rec.Code)
		}
		if admitted {
			if rec.Code != http.StatusOK {
				t.Fatalf("admitted request got status %d", rec.Code)
			}
			if got := rec.Header().Get("X-Addr"); got != wantAddr.String() {
				t.Fatalf("ClientFromContext addr = %s, want %v", got, wantAddr)
			}
			if got := rec.Header().Get("X-Known") == "yes"; got != wantKnown {
				t.Fatalf("ClientFromContext known = %v, want %v", got, wantKnown)
			}
		} else {
			assertBlocked(t, rec)
		}
	})
}

// FuzzAllowListContains builds blocks from raw bytes and checks Contains
// against a linear netip.Prefix.Contains scan, on a fuzzed probe and on the
// first, last, previous and next address of every block.
//
// blockBytes is read as records: one byte whose low bit picks IPv4/IPv6 and
// whose remaining bits, together with the next byte, give the prefix length;
// then 4 or 16 address bytes. At most 128 blocks are read.
func FuzzAllowListContains(f *testing.F) {
	f.Add([]byte{0, 16, 192, 168, 0, 0}, []byte{192, 168, 1, 1})
	f.Add([]byte{0, 25, 10, 0, 0, 0, 0, 25, 10, 0, 0, 128}, []byte{10, 0, 0, 200})
	f.Add([]byte{0, 0, 1, 2, 3, 4}, []byte{255, 255, 255, 255})
	f.Add([]byte{0, 32, 255, 255, 255, 255, 0, 24, 255, 255, 255, 0}, []byte{255, 255, 254, 255})
	f.Add([]byte{1, 32, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2})
	f.Add([]byte{1, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte{})
	f.Add([]byte{1, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, []byte{1, 2, 3, 4})
	f.Add([]byte{1, 124, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef})

	f.Fuzz(func(t *testing.T, blockBytes, probe []byte) {
		// The reference is quadratic in the edge checks below; keep inputs small.
		const maxBlocks = 128
		var blocks []netip.Prefix
		for len(blockBytes) >= 2 && len(blocks) < maxBlocks {
			is6 := blockBytes[0]&1 == 1
			bits := int(blockBytes[0]>>1)<<8 | int(blockBytes[1])
			blockBytes = blockBytes[2:]
			n := 4
			if is6 {
				n = 16
			}
			if len(blockBytes) < n {
				break
			}
			addr, _ := netip.AddrFromSlice(blockBytes[:n])
			blockBytes = blockBytes[n:]
			p := netip.PrefixFrom(addr, bits%(n*8+1))
			blocks = append(blocks, p) // deliberately unmasked
		}
		a := NewAllowList(blocks)
		if a.Enabled() != (len(blocks) > 0) {
			t.Fatalf("Enabled() = %v with %d blocks", a.Enabled(), len(blocks))
		}

		check := func(addr netip.Addr) {
			t.Helper()
			if got, want := a.Contains(addr), refContains(blocks, addr); got != want {
				t.Fatalf("Contains(%v) = %v, linear scan %v; blocks %v", addr, got, want, blocks)
			}
		}
		if addr, ok := netip.AddrFromSlice(probe); ok {
			check(addr)
			check(addr.Unmap())
			check(netip.AddrFrom16(addr.As16()))
		} else {
			check(netip.Addr{})
		}
		for _, p := range blocks {
			lo, hi := prefixRange(p)
			check(lo)
			check(hi)
			check(lo.Prev())
			check(hi.Next())
		}
	})
}

// FuzzParsePrefixes checks that ParsePrefixes never panics, that every
// result is a valid masked prefix, that errors name a trimmed item, and that
// the output re-parses to itself.
func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{
		"", " , ", "10.0.0.1", "10.0.0.0/8, 2001:db8::/32", "192.168.3.4/16", "fe80::1%eth0",
		"10.0.0.300", "1.2.3.4:80", "::/129", "fe80::1%eth0/64", "unknown", "::ffff:1.2.3.4/120",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		ps, err := ParsePrefixes(list)
		if err != nil {
			if ps != nil {
				t.Fatalf("non-nil result %v with error %v", ps, err)
			}
			if !strings.Contains(err.Error(), " is not an IP address or CIDR block") {
				t.Fatalf("unexpected error text %q", err)
			}
			return
		}
		var strs []string
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() || p.Addr().Zone() != "" {
				t.Fatalf("ParsePrefixes(%q) produced %v (valid=%v, masked=%v)", list, p, p.IsValid(), p.Masked())
			}
			strs = append(strs, p.String())
		}
		again, err := ParsePrefixes(strings.Join(strs, ","))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", strs, err)
		}
		if len(again) != len(ps) {
			t.Fatalf("re-parse gave %d prefixes, want %d", len(again), len(ps))
		}
		for i := range ps {
			if again[i] != ps[i] {
				t.Fatalf("re-parse [%d] = %v, want %v", i, again[i], ps[i])
			}
		}
	})
}
