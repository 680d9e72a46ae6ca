package logbuf

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowOut records what reaches the output, one Write call at a time, and
// can be held to show that writers do not wait for it.
type slowOut struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
	hold   chan struct{}
}

func (o *slowOut) Write(p []byte) (int, error) {
	if o.hold != nil {
		<-o.hold
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes++
	return o.b.Write(p)
}

func (o *slowOut) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// Lines from many goroutines all arrive whole, each goroutine's in order,
// in fewer output writes than lines.
func TestWriterKeepsEveryLineWholeAndInOrder(t *testing.T) {
	out := &slowOut{}
	w := New(out)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				fmt.Fprintf(w, "g%d line %05d %s\n", g, i, strings.Repeat("x", g*7))
			}
		}()
	}
	wg.Wait()
	w.Close()
	next := map[string]int{}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 16000 {
		t.Fatalf("%d lines reached the output, want 16000", len(lines))
	}
	for _, l := range lines {
		var g string
		var i int
		var pad string
		if n, _ := fmt.Sscanf(l, "%s line %d %s", &g, &i, &pad); n < 2 {
			t.Fatalf("torn line %q", l)
		}
		if i != next[g] {
			t.Fatalf("%s: line %d arrived when %d was due", g, i, next[g])
		}
		next[g]++
	}
	if out.writes >= 16000 {
		t.Fatalf("%d output writes for 16000 lines: nothing was batched", out.writes)
	}
}

// A writer does not wait for a slow output (up to the bound), and Flush
// and Close wait for everything written before them.
func TestWriterDoesNotWaitForTheOutputButFlushDoes(t *testing.T) {
	out := &slowOut{hold: make(chan struct{})}
	w := New(out)
	done := make(chan struct{})
	go func() {
		for range 100 {
			w.Write([]byte("request\n"))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("writes waited for a held output")
	}
	flushed := make(chan struct{})
	go func() { w.Flush(); close(flushed) }()
	select {
	case <-flushed:
		t.Fatal("Flush returned while the output was held")
	case <-time.After(20 * time.Millisecond):
	}
	close(out.hold)
	<-flushed
	if n := strings.Count(out.String(), "request\n"); n != 100 {
		t.Fatalf("%d lines after Flush, want 100", n)
	}
	w.Write([]byte("last\n"))
	w.Close()
	if !strings.HasSuffix(out.String(), "last\n") {
		t.Fatal("Close did not write what was queued")
	}
	w.Write([]byte("after close\n"))
	if !strings.HasSuffix(out.String(), "after close\n") {
		t.Fatal("a write after Close was lost")
	}
}

// The queue is bounded: past it writers wait for the output.
func TestWriterQueueIsBounded(t *testing.T) {
	out := &slowOut{hold: make(chan struct{})}
	w := New(out)
	line := bytes.Repeat([]byte("y"), 64<<10)
	wrote := make(chan int, 64)
	go func() {
		for i := range 64 {
			w.Write(line)
			wrote <- i
		}
	}()
	time.Sleep(50 * time.Millisecond)
	if n := len(wrote); n*len(line) > 2*maxQueued {
		t.Fatalf("%d bytes queued behind a held output; the bound is %d", n*len(line), maxQueued)
	}
	close(out.hold)
	for range 64 {
		<-wrote
	}
	w.Close()
	if got := len(out.String()); got != 64*len(line) {
		t.Fatalf("%d bytes written, want %d", got, 64*len(line))
	}
}

// Warnings and errors are on the output when the log call returns; info
// lines may still be queued.
func TestHandlerWritesWarningsThrough(t *testing.T) {
	out := &slowOut{}
	w := New(out)
	defer w.Close()
	logger := slog.New(Handler(slog.NewJSONHandler(w, nil), w)).With("component", "test")
	for range 1000 {
		logger.Info("request")
	}
	logger.Warn("careful")
	if s := out.String(); !strings.Contains(s, `"msg":"careful"`) || strings.Count(s, `"msg":"request"`) != 1000 {
		t.Fatalf("after Warn returned the output lacks lines:\n%d request lines, warning present: %v", strings.Count(s, `"msg":"request"`), strings.Contains(s, "careful"))
	}
	logger.WithGroup("g").Error("broken")
	if !strings.Contains(out.String(), `"msg":"broken"`) {
		t.Fatal("error not written through")
	}
}
