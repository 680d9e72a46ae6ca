//go:build !linux

package password

// allocBlocks returns n blocks from the Go heap (huge-page mappings are
// set up only on Linux).
func allocBlocks(n int) (blocks []argonBlock, free func()) {
	return make([]argonBlock, n), func() {}
}
