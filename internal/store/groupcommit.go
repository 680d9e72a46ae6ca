package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// groupCommitMaxEvents bounds the events one shared transaction carries.
const groupCommitMaxEvents = 10_000

// errStoreClosed is returned to writers that arrive after Close.
var errStoreClosed = errors.New("store: closed")

// eventCommitter batches concurrent InsertEvents calls on SQLite into one
// transaction (group commit). SQLite has one writer and every commit waits
// for an fsync, so sixteen requests that each commit alone wait for sixteen
// fsyncs in a row; committed together they wait for one. Every caller still
// returns only after the transaction holding its events is durable.
type eventCommitter struct {
	s     *Store
	queue chan *eventWrite
	stop  chan struct{}
	dead  chan struct{} // closed when run has returned
	once  sync.Once
}

type eventWrite struct {
	events   []gatehouse.Event
	inserted int
	err      error
	done     chan struct{}
}

func newEventCommitter(s *Store) *eventCommitter {
	c := &eventCommitter{s: s, queue: make(chan *eventWrite, 256), stop: make(chan struct{}), dead: make(chan struct{})}
	go c.run()
	return c
}

// insert queues events and waits until they are committed.
func (c *eventCommitter) insert(ctx context.Context, events []gatehouse.Event) (int, error) {
	w := &eventWrite{events: events, done: make(chan struct{})}
	select {
	case <-c.stop:
		return 0, errStoreClosed
	default:
	}
	select {
	case c.queue <- w:
	case <-c.stop:
		return 0, errStoreClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	select {
	case <-w.done:
		return w.inserted, w.err
	case <-c.dead:
		// Closed while queued: the final drain may or may not have taken
		// this write.
		select {
		case <-w.done:
			return w.inserted, w.err
		default:
			return 0, errStoreClosed
		}
	case <-ctx.Done():
		// The write may still commit; the caller was not told it did, so
		// a retry is safe (events with a uuid are stored once).
		return 0, ctx.Err()
	}
}

func (c *eventCommitter) run() {
	defer close(c.dead)
	for {
		var first *eventWrite
		select {
		case first = <-c.queue:
		case <-c.stop:
			c.drain()
			return
		}
		group := []*eventWrite{first}
		total := len(first.events)
	collect:
		for total < groupCommitMaxEvents {
			select {
			case w := <-c.queue:
				group = append(group, w)
				total += len(w.events)
			default:
				break collect
			}
		}
		c.commit(group)
	}
}

// drain answers every write still queued at Close.
func (c *eventCommitter) drain() {
	for {
		select {
		case w := <-c.queue:
			c.commit([]*eventWrite{w})
		default:
			return
		}
	}
}

// commit writes a group in one transaction. If that fails, each write is
// retried alone, so one bad write cannot fail the others.
func (c *eventCommitter) commit(group []*eventWrite) {
	ctx := context.Background()
	err := c.s.inTx(ctx, func(tx *sql.Tx) error {
		for _, w := range group {
			n, err := c.s.insertEventsTx(ctx, tx, w.events)
			if err != nil {
				return err
			}
			w.inserted = n
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for _, w := range group {
			c.commit([]*eventWrite{w})
		}
		return
	}
	for _, w := range group {
		if err != nil {
			w.inserted, w.err = 0, err
		}
		close(w.done)
	}
}

func (c *eventCommitter) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.dead
}
