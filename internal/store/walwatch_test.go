//go:build unix

package store

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// The WAL watch answers from memory while nothing commits and asks the
// database again after any commit, from this process or another, and
// after a checkpoint that restarts the WAL.
func TestWalWatchReadsAgainAfterEveryCommit(t *testing.T) {
	t.Parallel()
	testenv.Slow(t, "commits from this process and from another, and restarts the WAL with checkpoints")
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if s.wal == nil {
		t.Fatal("no WAL watch on SQLite")
	}
	var reads atomic.Int64
	read := func(ctx context.Context) (int64, error) {
		reads.Add(1)
		return s.readAuthGeneration(ctx)
	}
	gen := func() int64 {
		t.Helper()
		v, err := s.wal.generation(ctx, read)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	g0 := gen()
	for range 100 {
		if gen() != g0 {
			t.Fatal("generation moved with no commit")
		}
	}
	if n := reads.Load(); n != 1 {
		t.Fatalf("%d database reads with nothing committed, want 1", n)
	}

	// A commit in this process.
	if _, err := s.DB().ExecContext(ctx, `UPDATE auth_generation SET value = value + 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	if g := gen(); g != g0+1 {
		t.Fatalf("after a commit: generation %d, want %d", g, g0+1)
	}
	// A commit that touches no auth table moves the header too: it costs
	// one read and the generation stays.
	before := reads.Load()
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO rate_counters (key, count, expires_at) VALUES ('x', 1, 0)`); err != nil {
		t.Fatal(err)
	}
	if g := gen(); g != g0+1 || reads.Load() != before+1 {
		t.Fatalf("after an unrelated commit: generation %d (want %d), %d reads (want %d)", g, g0+1, reads.Load(), before+1)
	}

	// Commits from other processes, each after a checkpoint that
	// truncates the WAL, so the header goes back to frame 0 in between.
	for i := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestWalWatchChildCommit$")
		cmd.Env = append(os.Environ(), "GATEHOUSE_WALWATCH_CHILD_DIR="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("child: %v\n%s", err, out)
		}
		if g := gen(); g != g0+2+int64(i) {
			t.Fatalf("after commit %d in another process: generation %d, want %d", i+1, g, g0+2+int64(i))
		}
	}
}

// TestWalWatchChildCommit is the other process of the test above: it
// checkpoints the WAL (truncating it) and bumps the generation.
func TestWalWatchChildCommit(t *testing.T) {
	t.Parallel()
	dir := os.Getenv("GATEHOUSE_WALWATCH_CHILD_DIR")
	if dir == "" {
		t.Skip("run by TestWalWatchReadsAgainAfterEveryCommit")
	}
	db, err := openSQLite(dir+"/"+SQLiteFile, 1, "FULL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE auth_generation SET value = value + 1 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
}

// A request still asking for the auth generation while the store closes
// gets an error, not a fault: the WAL index is unmapped only once no read
// of it is running, and reads after that go to the (closed) database.
func TestWalWatchCloseWhileReading(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, Options{DataDir: t.TempDir(), Unsynced: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
					s.AuthGeneration(ctx)
				}
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	s.Close()
	time.Sleep(50 * time.Millisecond) // the readers go on after Close
	close(stop)
	wg.Wait()
	if _, err := s.AuthGeneration(ctx); err == nil {
		t.Fatal("the auth generation was read from a closed store")
	}
}
