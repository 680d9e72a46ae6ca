package gatehouse

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// countingSource is a generation that a test moves, read slowly enough
// that concurrent readers overlap.
type countingSource struct {
	gen   atomic.Int64
	reads atomic.Int64
	delay time.Duration
	err   error
	block chan struct{} // when set, reads wait on it
}

func (s *countingSource) AuthGeneration(ctx context.Context) (int64, error) {
	s.reads.Add(1)
	if s.block != nil {
		select {
		case <-s.block:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	v := s.gen.Load()
	time.Sleep(s.delay)
	return v, s.err
}

// Every caller sees at least the generation committed before it asked,
// even while the counter moves under concurrent readers: a shared read
// that began before a caller arrived must never answer it.
func TestSharedGenerationReadsNeverAnswerWithAnOlderRead(t *testing.T) {
	src := &countingSource{delay: 200 * time.Microsecond}
	g := SharedGenerationReads(src)
	stop := make(chan struct{})
	var bumps sync.WaitGroup
	bumps.Add(1)
	go func() {
		defer bumps.Done()
		for {
			select {
			case <-stop:
				return
			default:
				src.gen.Add(1)
				time.Sleep(50 * time.Microsecond)
			}
		}
	}()
	var wg sync.WaitGroup
	var calls, stale atomic.Int64
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				before := src.gen.Load()
				got, err := g.AuthGeneration(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				calls.Add(1)
				if got < before {
					stale.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	bumps.Wait()
	if stale.Load() != 0 {
		t.Fatalf("%d of %d reads answered with a generation older than the caller's arrival", stale.Load(), calls.Load())
	}
	// The reads were shared: far fewer database reads than callers.
	if r := src.reads.Load(); r >= calls.Load() {
		t.Fatalf("%d database reads for %d callers: nothing was shared", r, calls.Load())
	}
	t.Logf("%d callers, %d database reads", calls.Load(), src.reads.Load())
}

// A caller arriving while a read is in flight waits for the next read,
// which starts only after the running one ends.
func TestSharedGenerationReadsLateArrivalWaitsForTheNextRead(t *testing.T) {
	src := &countingSource{block: make(chan struct{})}
	g := SharedGenerationReads(src)
	first := make(chan int64)
	go func() {
		v, _ := g.AuthGeneration(context.Background())
		first <- v
	}()
	for src.reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	src.gen.Store(7) // committed after the first read began
	second := make(chan int64)
	go func() {
		v, _ := g.AuthGeneration(context.Background())
		second <- v
	}()
	time.Sleep(10 * time.Millisecond)
	if n := src.reads.Load(); n != 1 {
		t.Fatalf("%d reads began while one was in flight; the late caller must wait", n)
	}
	close(src.block)
	<-first
	if v := <-second; v != 7 {
		t.Fatalf("late caller got generation %d, want 7", v)
	}
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("%d reads, want 2", n)
	}
}

// Errors reach every caller of the read, and a cancelled caller stops
// waiting without breaking the reads of others.
func TestSharedGenerationReadsErrorsAndCancellation(t *testing.T) {
	boom := errors.New("database down")
	src := &countingSource{err: boom}
	g := SharedGenerationReads(src)
	if _, err := g.AuthGeneration(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want %v", err, boom)
	}

	src = &countingSource{block: make(chan struct{})}
	g = SharedGenerationReads(src)
	go g.AuthGeneration(context.Background())
	for src.reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := g.AuthGeneration(ctx)
		done <- err
	}()
	time.Sleep(5 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: err = %v", err)
	}
	close(src.block)
	src.gen.Store(3)
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, err := g.AuthGeneration(context.Background())
		if err == nil && v == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reads did not recover after a cancelled waiter: %d, %v", v, err)
		}
	}
}
