package password

import (
	"syscall"
	"unsafe"
)

// hugePage is the x86-64 and arm64 transparent huge page size.
const hugePage = 2 << 20

// allocBlocks maps n blocks of anonymous memory, aligned to a huge page
// and advised as huge-page backed, outside the Go heap. free unmaps it.
// Where the kernel refuses the advice the memory still works, in small
// pages; where mmap fails the matrix comes from the Go heap.
func allocBlocks(n int) (blocks []argonBlock, free func()) {
	size := n * int(unsafe.Sizeof(argonBlock{}))
	mem, err := syscall.Mmap(-1, 0, size+hugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]argonBlock, n), func() {}
	}
	start := uintptr(unsafe.Pointer(&mem[0]))
	off := int((hugePage - start%hugePage) % hugePage)
	aligned := mem[off : off+size]
	_ = syscall.Madvise(aligned, syscall.MADV_HUGEPAGE)
	return unsafe.Slice((*argonBlock)(unsafe.Pointer(&aligned[0])), n), func() { syscall.Munmap(mem) }
}
