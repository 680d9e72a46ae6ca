package password

import (
	"encoding/binary"
	"runtime"
	"sync"
	_ "unsafe" // for go:linkname

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/blake2b"
)

// Argon2id with reused, huge-page-backed memory.
//
// argon2.IDKey allocates its whole memory matrix (19 MiB for our
// parameters) on the Go heap at every call. Under a stream of logins that
// means ~2 GB/s of garbage, a zeroing pass over each new matrix, and 4 KiB
// pages: two hashes running at once walk 38 MiB at random, which overflows
// this class of machine's shared L3 cache and its TLBs, so two cores
// deliver only 75–89 % of twice one core's hash rate. idKey keeps one
// matrix per concurrent hash outside the Go heap, asks the kernel for
// transparent huge pages on it (madvise, which works where THP is in
// "madvise" mode, the common default), and reuses it without zeroing:
// Argon2 writes every block of the first pass before any block is read.
//
// The compression function G (x/crypto's SIMD BlaMka core) is reached
// through go:linkname on processBlock and processBlockXOR; everything else
// (H0, H', the filling order and reference indexing) is written here from
// RFC 9106. x/crypto's own fill loop XORs into every block even in the
// first pass and so needs zeroed memory; ours overwrites in the first
// pass, which is what makes reuse without zeroing correct. Because
// linkname reaches unexported functions, TestIDKeyMatchesXCrypto compares
// idKey with argon2.IDKey over many parameter sets: an x/crypto upgrade
// that changes them fails that test, not production.

// argonBlock is one 1 KiB Argon2 block, laid out as x/crypto's block type.
type argonBlock [128]uint64

// argon2Version is the Argon2 version number (0x13) in H0.
const argon2Version = argon2.Version

// argon2idMode is Argon2id's type number in H0 and in x/crypto's mode
// argument.
const argon2idMode = 2

// syncPoints is the number of slices per pass (RFC 9106: SL = 4).
const syncPoints = 4

// compress sets out = G(a, b) (RFC 9106, section 3.5).
//
//go:linkname compress golang.org/x/crypto/argon2.processBlock
func compress(out, a, b *argonBlock)

// compressXOR sets out ^= G(a, b): the later passes of version 0x13.
//
//go:linkname compressXOR golang.org/x/crypto/argon2.processBlockXOR
func compressXOR(out, a, b *argonBlock)

// matrices holds idle memory matrices, at most one per CPU.
var matrices = make(chan *matrix, runtime.GOMAXPROCS(0))

// matrix is a reusable Argon2 memory matrix.
type matrix struct {
	blocks []argonBlock
	free   func() // returns the memory to the OS
}

func getMatrix(n uint32) *matrix {
	select {
	case m := <-matrices:
		if uint32(len(m.blocks)) >= n {
			return m
		}
		m.free()
	default:
	}
	blocks, free := allocBlocks(int(n))
	return &matrix{blocks: blocks, free: free}
}

func putMatrix(m *matrix) {
	select {
	case matrices <- m:
	default:
		m.free()
	}
}

// idKey is argon2.IDKey(password, salt, time, memory, threads, keyLen)
// with secret and associated data as RFC 9106 defines them (both empty
// for password hashing).
func idKey(password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 || threads < 1 {
		panic("password: argon2id parameters out of range")
	}
	lanes := uint32(threads)
	h0 := initialHash(password, salt, secret, data, time, memory, lanes, keyLen)
	// The matrix is memory rounded down to a multiple of 4·lanes blocks,
	// and at least 8 blocks per lane (RFC 9106, section 3.2).
	m := memory / (syncPoints * lanes) * (syncPoints * lanes)
	if m < 2*syncPoints*lanes {
		m = 2 * syncPoints * lanes
	}
	mat := getMatrix(m)
	defer putMatrix(mat)
	B := mat.blocks[:m]

	laneLen := m / lanes
	var buf [1024]byte
	for lane := uint32(0); lane < lanes; lane++ {
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)
		for i := uint32(0); i < 2; i++ {
			binary.LittleEndian.PutUint32(h0[blake2b.Size:], i)
			hashLong(buf[:], h0[:])
			fillBlock(&B[lane*laneLen+i], &buf)
		}
	}
	fill(B, time, m, lanes)

	// The final block is the XOR of each lane's last block.
	var final argonBlock
	for lane := uint32(0); lane < lanes; lane++ {
		last := &B[lane*laneLen+laneLen-1]
		for i := range final {
			final[i] ^= last[i]
		}
	}
	for i, v := range final {
		binary.LittleEndian.PutUint64(buf[i*8:], v)
	}
	out := make([]byte, keyLen)
	hashLong(out, buf[:])
	return out
}

// fill computes every block after the first two of each lane, pass by
// pass and slice by slice; the lanes of a slice run in parallel.
func fill(B []argonBlock, time, memory, lanes uint32) {
	laneLen := memory / lanes
	segLen := laneLen / syncPoints
	for pass := uint32(0); pass < time; pass++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			if lanes == 1 {
				fillSegment(B, pass, slice, 0, time, memory, lanes, laneLen, segLen)
				continue
			}
			var wg sync.WaitGroup
			for lane := uint32(0); lane < lanes; lane++ {
				wg.Go(func() { fillSegment(B, pass, slice, lane, time, memory, lanes, laneLen, segLen) })
			}
			wg.Wait()
		}
	}
}

// fillSegment computes one segment (RFC 9106, section 3.4). In Argon2id the
// first half of the first pass takes its reference indices from address
// blocks (data-independent); the rest from the previous block's first word.
func fillSegment(B []argonBlock, pass, slice, lane, time, memory, lanes, laneLen, segLen uint32) {
	var address, input, zero argonBlock
	independent := pass == 0 && slice < syncPoints/2
	if independent {
		input[0], input[1], input[2] = uint64(pass), uint64(lane), uint64(slice)
		input[3], input[4], input[5] = uint64(memory), uint64(time), argon2idMode
	}
	nextAddresses := func() {
		input[6]++
		compress(&address, &input, &zero)
		compress(&address, &address, &zero)
	}
	index := uint32(0)
	if pass == 0 && slice == 0 {
		index = 2 // the first two blocks come from H0
		if independent {
			nextAddresses()
		}
	}
	offset := lane*laneLen + slice*segLen + index
	for ; index < segLen; index, offset = index+1, offset+1 {
		prev := offset - 1
		if index == 0 && slice == 0 {
			prev += laneLen // the lane's last block
		}
		var random uint64
		if independent {
			if index%128 == 0 {
				nextAddresses()
			}
			random = address[index%128]
		} else {
			random = B[prev][0]
		}
		ref := refIndex(random, pass, slice, lane, index, lanes, laneLen, segLen)
		if pass == 0 {
			compress(&B[offset], &B[prev], &B[ref])
		} else {
			compressXOR(&B[offset], &B[prev], &B[ref])
		}
	}
}

// refIndex maps a pseudo-random word to the block the current one mixes
// in: a lane (the current one in the first slice of the first pass) and a
// position within the blocks already finished, biased towards recent ones.
func refIndex(random uint64, pass, slice, lane, index, lanes, laneLen, segLen uint32) uint32 {
	refLane := uint32(random>>32) % lanes
	if pass == 0 && slice == 0 {
		refLane = lane
	}
	var area uint32
	switch {
	case refLane == lane && pass == 0:
		area = slice*segLen + index - 1
	case refLane == lane:
		area = laneLen - segLen + index - 1
	case pass == 0:
		area = slice * segLen
	default:
		area = laneLen - segLen
	}
	if refLane != lane && index == 0 {
		area--
	}
	j1 := random & 0xffffffff
	x := (j1 * j1) >> 32
	y := (uint64(area) * x) >> 32
	pos := area - 1 - uint32(y)
	start := uint32(0)
	if pass > 0 && slice != syncPoints-1 {
		start = (slice + 1) * segLen
	}
	return refLane*laneLen + (start+pos)%laneLen
}

func fillBlock(b *argonBlock, src *[1024]byte) {
	for i := range b {
		b[i] = binary.LittleEndian.Uint64(src[i*8:])
	}
}

// initialHash is H0 (RFC 9106, section 3.2) with 8 spare bytes for the
// block and lane numbers of the first blocks.
func initialHash(password, salt, secret, data []byte, time, memory, lanes, keyLen uint32) [blake2b.Size + 8]byte {
	h, _ := blake2b.New512(nil)
	var n [4]byte
	word := func(v uint32) {
		binary.LittleEndian.PutUint32(n[:], v)
		h.Write(n[:])
	}
	word(lanes)
	word(keyLen)
	word(memory)
	word(time)
	word(argon2Version)
	word(argon2idMode)
	for _, field := range [][]byte{password, salt, secret, data} {
		word(uint32(len(field)))
		h.Write(field)
	}
	var h0 [blake2b.Size + 8]byte
	h.Sum(h0[:0])
	return h0
}

// hashLong is Argon2's variable-length hash H' (RFC 9106, section 3.3):
// BLAKE2b over len(out) ‖ in, extended by chaining 64-byte BLAKE2b values
// and keeping the first 32 bytes of each, with a last BLAKE2b as long as
// what remains.
func hashLong(out, in []byte) {
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(out)))
	if len(out) <= blake2b.Size {
		h, _ := blake2b.New(len(out), nil)
		h.Write(n[:])
		h.Write(in)
		h.Sum(out[:0])
		return
	}
	h, _ := blake2b.New512(nil)
	h.Write(n[:])
	h.Write(in)
	var v [blake2b.Size]byte
	h.Sum(v[:0])
	copy(out, v[:32])
	out = out[32:]
	for len(out) > blake2b.Size {
		h.Reset()
		h.Write(v[:])
		h.Sum(v[:0])
		copy(out, v[:32])
		out = out[32:]
	}
	last, _ := blake2b.New(len(out), nil)
	last.Write(v[:])
	last.Sum(out[:0])
}
