package netguard

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// AllowList answers whether an address is inside any of a set of blocks.
//
// At construction the blocks are converted to sorted, coalesced
// (overlapping and adjacent ranges merged) inclusive ranges, kept separately
// for IPv4 and IPv6, so that Contains is a binary search. An AllowList is
// immutable and safe for concurrent use.
type AllowList struct {
	enabled bool

	// IPv4 ranges: v4Start[i] <= addr <= v4End[i], sorted and disjoint.
	v4Start []uint32
	v4End   []uint32

	// IPv6 ranges, as 128-bit integers.
	v6Start []u128
	v6End   []u128
}

// u128 is a 128-bit unsigned integer, the numeric value of an IPv6 address.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) less(b u128) bool {
	return a.hi < b.hi || (a.hi == b.hi && a.lo < b.lo)
}

var maxU128 = u128{^uint64(0), ^uint64(0)}

// inc returns a+1; callers ensure a is not the maximum value.
func (a u128) inc() u128 {
	if a.lo == ^uint64(0) {
		return u128{a.hi + 1, 0}
	}
	return u128{a.hi, a.lo + 1}
}

func u128From(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func u32From(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

type v4Range struct{ start, end uint32 }
type v6Range struct{ start, end u128 }

// NewAllowList builds an AllowList from blocks. Host bits are masked off.
// With nil or empty blocks the list is disabled (Enabled reports false).
// Invalid (zero) prefixes match nothing but still count towards enabling the
// list, so a list made only of invalid blocks fails closed.
func NewAllowList(blocks []netip.Prefix) *AllowList {
	a := &AllowList{enabled: len(blocks) > 0}
	var r4 []v4Range
	var r6 []v6Range
	for _, p := range blocks {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		bits := p.Bits()
		addr := p.Addr()
		if addr.Is4() {
			start := u32From(addr)
			host := uint32(0)
			if bits < 32 {
				host = ^uint32(0) >> bits
			}
			r4 = append(r4, v4Range{start, start | host})
			continue
		}
		start := u128From(addr)
		end := start
		switch {
		case bits <= 64:
			// Shifting by 64 yields 0, so /64 leaves hi untouched.
			end.hi |= ^uint64(0) >> bits
			end.lo = ^uint64(0)
		default:
			end.lo |= ^uint64(0) >> (bits - 64)
		}
		r6 = append(r6, v6Range{start, end})
	}

	slices.SortFunc(r4, func(x, y v4Range) int { return cmp.Compare(x.start, y.start) })
	for _, r := range r4 {
		n := len(a.v4End)
		if n > 0 {
			last := a.v4End[n-1]
			if last == ^uint32(0) || r.start <= last+1 {
				a.v4End[n-1] = max(last, r.end)
				continue
			}
		}
		a.v4Start = append(a.v4Start, r.start)
		a.v4End = append(a.v4End, r.end)
	}

	slices.SortFunc(r6, func(x, y v6Range) int { return x.start.cmp(y.start) })
	for _, r := range r6 {
		n := len(a.v6End)
		if n > 0 {
			last := a.v6End[n-1]
			if last == maxU128 || !last.inc().less(r.start) {
				if last.less(r.end) {
					a.v6End[n-1] = r.end
				}
				continue
			}
		}
		a.v6Start = append(a.v6Start, r.start)
		a.v6End = append(a.v6End, r.end)
	}
	a.v4Start = slices.Clip(a.v4Start)
	a.v4End = slices.Clip(a.v4End)
	a.v6Start = slices.Clip(a.v6Start)
	a.v6End = slices.Clip(a.v6End)
	return a
}

// Enabled reports whether the list was built from at least one block. A nil
// AllowList is disabled. When a list is disabled no allow-list check applies.
func (a *AllowList) Enabled() bool {
	return a != nil && a.enabled
}

// Contains reports whether addr lies inside any block of the list. An
// invalid address, a nil list and a disabled list contain nothing. Any IPv6
// zone is ignored. Addresses are not unmapped: an IPv4 address never matches
// an IPv6 block and an IPv4-mapped IPv6 address never matches an IPv4 block,
// exactly as with netip.Prefix.Contains.
func (a *AllowList) Contains(addr netip.Addr) bool {
	if a == nil {
		return false
	}
	if addr.Is4() {
		x := u32From(addr)
		starts := a.v4Start
		// Find the number of ranges with start <= x.
		lo, hi := 0, len(starts)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if starts[m] <= x {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo > 0 && x <= a.v4End[lo-1]
	}
	if !addr.Is6() {
		return false
	}
	x := u128From(addr)
	starts := a.v6Start
	lo, hi := 0, len(starts)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if !x.less(starts[m]) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo > 0 && !a.v6End[lo-1].less(x)
}
