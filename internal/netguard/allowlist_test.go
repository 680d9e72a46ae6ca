package netguard

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func TestAllowListEnabled(t *testing.T) {
	tests := []struct {
		name string
		list *AllowList
		want bool
	}{
		{"nil receiver", nil, false},
		{"nil blocks", NewAllowList(nil), false},
		{"empty blocks", NewAllowList([]netip.Prefix{}), false},
		{"one block", NewAllowList([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}), true},
		{"only invalid blocks (fail closed)", NewAllowList([]netip.Prefix{{}}), true},
	}
	for _, tt := range tests {
		if got := tt.list.Enabled(); got != tt.want {
			t.Errorf("%s: Enabled() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAllowListContains(t *testing.T) {
	tests := []struct {
		name   string
		blocks string
		in     []string
		out    []string
	}{
		{
			name:   "empty list",
			blocks: "",
			out:    []string{"0.0.0.0", "10.0.0.1", "::", "2001:db8::1"},
		},
		{
			name:   "single v4 address",
			blocks: "10.0.0.1",
			in:     []string{"10.0.0.1"},
			out:    []string{"10.0.0.0", "10.0.0.2", "::ffff:10.0.0.1", "::a00:1"},
		},
		{
			name:   "v4 block edges",
			blocks: "192.168.0.0/16",
			in:     []string{"192.168.0.0", "192.168.255.255", "192.168.1.1"},
			out:    []string{"192.167.255.255", "192.169.0.0"},
		},
		{
			name:   "whole v4 space does not cover v6",
			blocks: "0.0.0.0/0",
			in:     []string{"0.0.0.0", "255.255.255.255"},
			out:    []string{"::", "::ffff:1.2.3.4", "2001:db8::1"},
		},
		{
			name:   "whole v6 space does not cover v4",
			blocks: "::/0",
			in:     []string{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:1.2.3.4", "2001:db8::1"},
			out:    []string{"1.2.3.4", "0.0.0.0"},
		},
		{
			name:   "adjacent and overlapping v4 blocks merge",
			blocks: "10.0.0.0/25, 10.0.0.128/25, 10.0.1.0/24, 10.0.0.5, 10.0.3.0/24",
			in:     []string{"10.0.0.0", "10.0.0.127", "10.0.0.128", "10.0.1.255", "10.0.3.0", "10.0.3.255"},
			out:    []string{"9.255.255.255", "10.0.2.0", "10.0.2.255", "10.0.4.0"},
		},
		{
			name:   "v4 top of range",
			blocks: "255.255.255.0/24, 255.255.255.255",
			in:     []string{"255.255.255.255", "255.255.255.0"},
			out:    []string{"255.255.254.255"},
		},
		{
			name:   "v6 block edges across the 64-bit boundary",
			blocks: "2001:db8::/64, 2001:db8:0:1::/80",
			in:     []string{"2001:db8::", "2001:db8::ffff:ffff:ffff:ffff", "2001:db8:0:1::", "2001:db8:0:1:0:ffff:ffff:ffff"},
			out:    []string{"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:0:1:1::", "2001:db8:0:2::"},
		},
		{
			name:   "v6 top of range",
			blocks: "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0/124",
			in:     []string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fff0"},
			out:    []string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffef"},
		},
		{
			name:   "v6 host bits masked",
			blocks: "2001:db8::1234/112",
			in:     []string{"2001:db8::", "2001:db8::ffff"},
			out:    []string{"2001:db8::1:0"},
		},
		{
			name:   "zone is ignored",
			blocks: "fe80::/10",
			in:     []string{"fe80::1%eth0", "febf::1"},
			out:    []string{"fec0::1%eth0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks := mustPrefixes(t, tt.blocks)
			a := NewAllowList(blocks)
			for _, s := range tt.in {
				if addr := netip.MustParseAddr(s); !a.Contains(addr) {
					t.Errorf("Contains(%s) = false, want true", s)
				}
			}
			for _, s := range tt.out {
				if addr := netip.MustParseAddr(s); a.Contains(addr) {
					t.Errorf("Contains(%s) = true, want false", s)
				}
			}
		})
	}

	var nilList *AllowList
	if nilList.Contains(netip.MustParseAddr("1.2.3.4")) {
		t.Error("nil list contains an address")
	}
	all := NewAllowList(mustPrefixes(t, "0.0.0.0/0, ::/0"))
	if all.Contains(netip.Addr{}) {
		t.Error("the zero Addr must never be contained")
	}
}

func TestAllowListUnmaskedInput(t *testing.T) {
	// Prefixes not produced by ParsePrefixes may carry host bits.
	a := NewAllowList([]netip.Prefix{
		netip.PrefixFrom(netip.MustParseAddr("10.1.2.3"), 8),
		netip.PrefixFrom(netip.MustParseAddr("2001:db8::77"), 32),
	})
	for _, s := range []string{"10.0.0.0", "10.255.255.255", "2001:db8::", "2001:db8:ffff::1"} {
		if !a.Contains(netip.MustParseAddr(s)) {
			t.Errorf("Contains(%s) = false, want true", s)
		}
	}
}

// randPrefix returns a random block. Prefix lengths are skewed long so that
// the blocks do not swallow the whole address space, and addresses are drawn
// from a few clusters so that blocks overlap.
func randPrefix(rng *rand.Rand, pool []netip.Prefix) netip.Prefix {
	if len(pool) > 0 && rng.IntN(4) == 0 {
		// Overlap: a block sharing a start with an earlier one, or a sub-block inside it.
		base := pool[rng.IntN(len(pool))]
		addr := randAddrNear(rng, base.Addr(), base.Bits())
		return netip.PrefixFrom(addr, base.Bits()+rng.IntN(addr.BitLen()-base.Bits()+1)).Masked()
	}
	if rng.IntN(2) == 0 {
		var b [4]byte
		b[0] = byte(rng.IntN(4)) // cluster in 0.0.0.0/6
		b[1], b[2], b[3] = byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())
		bits := 32 - rng.IntN(27)
		if rng.IntN(50) == 0 {
			bits = rng.IntN(33)
		}
		return netip.PrefixFrom(netip.AddrFrom4(b), bits).Masked()
	}
	var b [16]byte
	b[0], b[1] = 0x20, 0x01
	b[2] = byte(rng.IntN(4)) // cluster in 2001::/22
	for i := 3; i < 16; i++ {
		b[i] = byte(rng.Uint32())
	}
	bits := 128 - rng.IntN(120)
	if rng.IntN(50) == 0 {
		bits = rng.IntN(129)
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked()
}

// randAddrNear keeps the first keep bits of base and randomises the rest,
// sometimes only the last few bits so that block edges get exercised.
func randAddrNear(rng *rand.Rand, base netip.Addr, keep int) netip.Addr {
	bs := base.AsSlice()
	n := len(bs) * 8
	from := keep
	if rng.IntN(2) == 0 {
		from = max(keep, n-rng.IntN(9))
	}
	for i := from; i < n; i++ {
		if rng.IntN(2) == 0 {
			bs[i/8] ^= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(bs)
	return a
}

// randProbe returns an address likely to sit near the given blocks.
func randProbe(rng *rand.Rand, blocks []netip.Prefix) netip.Addr {
	switch k := rng.IntN(10); {
	case k < 5 && len(blocks) > 0:
		p := blocks[rng.IntN(len(blocks))]
		return randAddrNear(rng, p.Addr(), max(0, p.Bits()-rng.IntN(4)))
	case k < 6 && len(blocks) > 0:
		// Just outside or at the edge of a block.
		p := blocks[rng.IntN(len(blocks))]
		lo, hi := prefixRange(p)
		for _, a := range []netip.Addr{lo.Prev(), lo, hi, hi.Next()} {
			if a.IsValid() && rng.IntN(2) == 0 {
				return a
			}
		}
		return hi.Next()
	case k < 7:
		var b [4]byte
		binaryPut32(b[:], rng.Uint32())
		return netip.AddrFrom16(netip.AddrFrom4(b).As16()) // IPv4-mapped
	case k < 8:
		var b [4]byte
		binaryPut32(b[:], rng.Uint32())
		return netip.AddrFrom4(b)
	default:
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return netip.AddrFrom16(b)
	}
}

func binaryPut32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
}

// prefixRange returns the first and last address of p.
func prefixRange(p netip.Prefix) (lo, hi netip.Addr) {
	p = p.Masked()
	bs := p.Addr().AsSlice()
	for i := p.Bits(); i < len(bs)*8; i++ {
		bs[i/8] |= 0x80 >> (i % 8)
	}
	hi, _ = netip.AddrFromSlice(bs)
	return p.Addr(), hi
}

func TestAllowListMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(20240611, 7))
	trials, probes := 300, 2000
	if testing.Short() {
		trials = 50
	}
	hits := 0
	for trial := range trials {
		n := rng.IntN(60)
		if trial%25 == 0 {
			n = 2000
		}
		var blocks []netip.Prefix
		for range n {
			blocks = append(blocks, randPrefix(rng, blocks))
		}
		a := NewAllowList(blocks)
		if a.Enabled() != (n > 0) {
			t.Fatalf("Enabled() = %v with %d blocks", a.Enabled(), n)
		}
		for range probes {
			addr := randProbe(rng, blocks)
			got, want := a.Contains(addr), refContains(blocks, addr)
			if got != want {
				t.Fatalf("trial %d: Contains(%v) = %v, linear scan says %v; blocks %v", trial, addr, got, want, blocks)
			}
			if want {
				hits++
			}
		}
	}
	// Guard against a generator that never hits (which would make the test vacuous).
	t.Logf("%d of %d probes hit", hits, trials*probes)
	if total := trials * probes; hits < total/10 || hits > total*9/10 {
		t.Fatalf("only %d of %d probes hit; generator is unbalanced", hits, total)
	}
}
