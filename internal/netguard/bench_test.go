package netguard

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// benchBlocks returns n random v4 and v6 blocks spread over the whole address
// space (v4 /16../32, v6 /32../128), so that random probes mostly miss.
func benchBlocks(rng *rand.Rand, n int) []netip.Prefix {
	blocks := make([]netip.Prefix, 0, n)
	for i := range n {
		if i%2 == 0 {
			var b [4]byte
			binaryPut32(b[:], rng.Uint32())
			blocks = append(blocks, netip.PrefixFrom(netip.AddrFrom4(b), 16+rng.IntN(17)).Masked())
			continue
		}
		var b [16]byte
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		blocks = append(blocks, netip.PrefixFrom(netip.AddrFrom16(b), 32+rng.IntN(97)).Masked())
	}
	return blocks
}

func BenchmarkAllowListContains10k(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	blocks := benchBlocks(rng, 10_000)
	a := NewAllowList(blocks)

	// Half the probes are inside a random block (hits), half are uniformly
	// random v4/v6 addresses (almost all misses).
	probes := make([]netip.Addr, 4096)
	for i := range probes {
		if i%2 == 0 {
			p := blocks[rng.IntN(len(blocks))]
			probes[i] = randAddrNear(rng, p.Addr(), p.Bits())
			continue
		}
		if i%4 == 1 {
			var v [4]byte
			binaryPut32(v[:], rng.Uint32())
			probes[i] = netip.AddrFrom4(v)
		} else {
			var v [16]byte
			for j := range v {
				v[j] = byte(rng.Uint32())
			}
			probes[i] = netip.AddrFrom16(v)
		}
	}
	hits := 0
	for _, p := range probes {
		if a.Contains(p) {
			hits++
		}
	}

	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		a.Contains(probes[i&(len(probes)-1)])
	}
	b.ReportMetric(float64(hits)/float64(len(probes)), "hit-ratio")
}

func BenchmarkClientAddr(b *testing.B) {
	res := NewResolver(mustPrefixes(b, "10.0.0.0/8, 172.16.0.0/12, fd00::/8"), false, true)
	req := httptest.NewRequest(http.MethodGet, "/api/projects/", nil)
	req.RemoteAddr = "10.0.0.1:44321"
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 172.16.3.4")

	if addr, known := res.ClientAddr(req); !known || addr != netip.MustParseAddr("203.0.113.7") {
		b.Fatalf("ClientAddr = (%v, %v)", addr, known)
	}
	b.ReportAllocs()
	for b.Loop() {
		res.ClientAddr(req)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	res := NewResolver(mustPrefixes(b, "10.0.0.0/8, 172.16.0.0/12"), false, true)
	allow := NewAllowList(mustPrefixes(b, "203.0.113.0/24"))
	h := Middleware(res, allow, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, known, ok := ClientFromContext(r.Context()); !ok || !known {
			b.Fatal("client not resolved")
		}
	}))
	req := httptest.NewRequest(http.MethodGet, "/api/projects/", nil)
	req.RemoteAddr = "10.0.0.1:44321"
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 172.16.3.4")
	w := httptest.NewRecorder()

	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
