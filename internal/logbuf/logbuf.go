// Package logbuf takes log output off the request path: the server writes
// a line per request, and a write system call for each costs a busy
// instance more than the rest of a key-authenticated request. A Writer
// queues lines in memory and a goroutine of its own writes them out many
// at a time, so lines reach the output a few milliseconds later at most,
// in their order. Warnings and errors are written through at once
// (Handler), and Close writes whatever is queued.
package logbuf

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// maxQueued bounds the queue: past it a writer waits for the output, as an
// unbuffered one would, so a slow output cannot make memory grow.
const maxQueued = 1 << 20

// Writer queues what is written to it for a goroutine that writes to the
// underlying output. Each Write is written out whole and in order.
type Writer struct {
	out io.Writer

	mu      sync.Mutex
	queued  []byte
	spare   []byte
	writing bool          // the goroutine is writing a batch
	room    *sync.Cond    // signalled when a batch has been written
	wake    chan struct{} // capacity 1: there is something to write
	urgent  bool          // a Flush is waiting: write without lingering
	closed  bool
	done    chan struct{}
}

// linger is how long the writing goroutine waits, once woken, for more
// lines before writing fewer than lingerBytes: under load a write system
// call then carries a hundred lines rather than a handful, and a line
// reaches the output at most this much later.
const (
	linger      = 2 * time.Millisecond
	lingerBytes = 64 << 10
)

// New starts a Writer on out. Close it to stop its goroutine.
func New(out io.Writer) *Writer {
	w := &Writer{out: out, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.room = sync.NewCond(&w.mu)
	go w.run()
	return w
}

// Write queues p. It never fails: an error of the output is the output's
// (stderr, in practice), as it would be for a direct write.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	for len(w.queued) >= maxQueued && !w.closed {
		w.room.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		return w.out.Write(p)
	}
	w.queued = append(w.queued, p...)
	w.signal()
	w.mu.Unlock()
	return len(p), nil
}

// Flush returns once everything written before it is written out.
func (w *Writer) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for (len(w.queued) > 0 || w.writing) && !w.closed {
		w.urgent = true
		w.signal()
		w.room.Wait()
	}
}

// signal wakes the goroutine; w.mu is held and w is not closed.
func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Close writes out what is queued and stops the goroutine; later writes go
// straight to the output.
func (w *Writer) Close() error {
	w.Flush()
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	close(w.wake)
	w.room.Broadcast()
	w.mu.Unlock()
	<-w.done
	return nil
}

func (w *Writer) run() {
	defer close(w.done)
	for range w.wake {
		for {
			w.mu.Lock()
			if len(w.queued) == 0 {
				w.mu.Unlock()
				break
			}
			if !w.urgent && !w.closed && len(w.queued) < lingerBytes {
				// Let a busy server's lines gather into one write.
				w.mu.Unlock()
				time.Sleep(linger)
				w.mu.Lock()
			}
			w.urgent = false
			batch := w.queued
			w.queued, w.spare = w.spare[:0], nil
			w.writing = true
			w.mu.Unlock()

			w.out.Write(batch)

			w.mu.Lock()
			w.writing = false
			if cap(batch) <= maxQueued {
				w.spare = batch[:0]
			}
			w.room.Broadcast()
			w.mu.Unlock()
		}
	}
}

// Handler wraps h, which writes to w, so that records at level Warn and
// above are written out before Handle returns: they do not wait behind
// the queue, and are not lost if the process dies right after.
func Handler(h slog.Handler, w *Writer) slog.Handler {
	return &flushing{Handler: h, w: w}
}

type flushing struct {
	slog.Handler
	w *Writer
}

func (f *flushing) Handle(ctx context.Context, r slog.Record) error {
	err := f.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		f.w.Flush()
	}
	return err
}

func (f *flushing) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &flushing{Handler: f.Handler.WithAttrs(attrs), w: f.w}
}

func (f *flushing) WithGroup(name string) slog.Handler {
	return &flushing{Handler: f.Handler.WithGroup(name), w: f.w}
}
