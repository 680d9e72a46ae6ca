//go:build unix

package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// A SQLite database in WAL mode keeps, at the start of its "-shm" file,
// the WAL-index header: the newest committed state of the WAL (last frame,
// its checksum, the WAL's salts) behind a checksum, written twice by every
// commit before the commit returns (the second copy first, the first copy
// last), by whichever process commits. Readers compare the two copies to
// know they read a whole header; SQLite's own readers do exactly that
// before each read transaction.
//
// walWatch maps that header read-only, so the store can tell "nothing was
// committed since I last looked" without starting a read transaction: the
// header of two moments is identical only if no transaction committed in
// between (every commit appends frames and so moves the last frame and its
// checksum; a WAL restart changes the salts). AuthGeneration uses it to
// answer from memory while the database is unchanged, and reads the
// counter whenever anything at all has committed since.
//
// The mapping stays valid because the store holds a connection open for
// the watcher's lifetime: SQLite truncates or deletes the -shm file only
// when the last connection to the database, in any process, closes or the
// first one opens.
type walWatch struct {
	hold *sql.DB // one connection of its own, keeping the -shm file in place

	// mu guards the mapping: readers of the header hold it shared, and
	// close unmaps under it, so that a request still running when the
	// store closes reads the database (and gets its error) instead of
	// touching memory no longer mapped.
	mu  sync.RWMutex
	mem []byte // the first page of the -shm file, mapped shared; nil once closed

	known atomic.Pointer[walKnown]
}

// walHeaderSize is the size of one copy of the WAL-index header.
const walHeaderSize = 48

type walHeader [walHeaderSize / 4]uint32

type walKnown struct {
	hdr walHeader
	gen int64
}

// openWalWatch maps the -shm file of the SQLite database at path, which
// must be in WAL mode.
func openWalWatch(ctx context.Context, path string) (*walWatch, error) {
	// The connection only holds the files open: none of the settings of
	// the store's connections, whose journal_mode and synchronous pragmas
	// make SQLite parse the whole schema as it connects.
	hold, err := sql.Open("sqlite", "file:"+path+"?"+url.Values{"_pragma": {"busy_timeout(10000)"}}.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: opening SQLite: %w", err)
	}
	hold.SetMaxOpenConns(1)
	hold.SetMaxIdleConns(1)
	hold.SetConnMaxIdleTime(0)
	// A read of the database header (a read transaction, which opens the
	// WAL and its index) makes sure the -shm file exists and is
	// initialised, without reading the schema.
	var version int
	if err := hold.QueryRowContext(ctx, "PRAGMA schema_version").Scan(&version); err != nil {
		hold.Close()
		return nil, err
	}
	f, err := os.Open(path + "-shm")
	if err != nil {
		hold.Close()
		return nil, err
	}
	defer f.Close()
	mem, err := syscall.Mmap(int(f.Fd()), 0, os.Getpagesize(), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		hold.Close()
		return nil, fmt.Errorf("store: mapping the WAL index: %w", err)
	}
	w := &walWatch{hold: hold, mem: mem}
	if _, ok := w.header(); !ok {
		w.close()
		return nil, fmt.Errorf("store: the WAL index header is not readable")
	}
	return w, nil
}

// header reads the WAL-index header; ok is false when its two copies
// differ (a commit is writing it) or it is not initialised, and then the
// caller must ask the database.
func (w *walWatch) header() (h walHeader, ok bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.mem == nil {
		return h, false
	}
	base := unsafe.Pointer(unsafe.SliceData(w.mem))
	var second walHeader
	for i := range h {
		h[i] = atomic.LoadUint32((*uint32)(unsafe.Add(base, 4*i)))
	}
	for i := range second {
		second[i] = atomic.LoadUint32((*uint32)(unsafe.Add(base, walHeaderSize+4*i)))
	}
	// isInit is the byte after iVersion, unused and iChange.
	isInit := (*[walHeaderSize]byte)(unsafe.Pointer(&h))[12]
	return h, h == second && isInit == 1
}

// generation answers read from memory while nothing has committed since
// the last read, else reads it with read and remembers it.
func (w *walWatch) generation(ctx context.Context, read func(context.Context) (int64, error)) (int64, error) {
	h, ok := w.header()
	if k := w.known.Load(); ok && k != nil && k.hdr == h {
		return k.gen, nil
	}
	// The header is read before the counter: a commit between the two
	// leaves a newer counter under an older header, which only costs a
	// read next time.
	gen, err := read(ctx)
	if err == nil && ok {
		w.known.Store(&walKnown{hdr: h, gen: gen})
	}
	return gen, err
}

func (w *walWatch) close() {
	w.mu.Lock()
	if w.mem != nil {
		syscall.Munmap(w.mem)
		w.mem = nil
	}
	w.mu.Unlock()
	w.hold.Close()
}
