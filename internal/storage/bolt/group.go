package bolt

import (
	"context"
	"errors"
	"fmt"

	"github.com/tresorhq/tresor/internal/storage"
)

// maxBatch caps how many writers share one commit, bounding the size of a
// bbolt transaction and the latency of the writer that leads it.
const maxBatch = 256

// errAborted reaches writers whose batch's leader stopped mid-commit
// (runtime.Goexit inside an Update function, e.g. t.Fatal in a test).
var errAborted = errors.New("storage/bolt: commit aborted: leading writer exited")

// call is one writer waiting for a commit.
type call struct {
	ctx context.Context
	fn  func(storage.Tx) error

	// wake receives once: when the call's batch is done, or when the call
	// is promoted to lead the next batch.
	wake chan struct{}
	lead bool

	done     bool
	err      error
	panicked any // fn's panic, re-raised in the caller's goroutine
}

// write runs fn in a group commit and returns once its writes are durable.
//
// Leader/follower: the writer that finds no commit in flight leads at once, so
// a lone writer waits for exactly one fsync. Writers arriving meanwhile queue
// up; when the leader finishes it promotes the head of the queue, which
// commits everything queued so far (up to maxBatch) in one transaction.
func (s *Store) write(ctx context.Context, fn func(storage.Tx) error) error {
	c := &call{ctx: ctx, fn: fn, wake: make(chan struct{}, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, c)
	follow := s.busy
	s.busy = true
	s.mu.Unlock()

	if follow {
		<-c.wake
	}
	if !follow || c.lead {
		s.lead()
	}
	if c.panicked != nil {
		panic(c.panicked)
	}
	return c.err
}

// lead commits the head of the queue (which holds the caller's own call
// first), wakes its writers and hands leadership on.
func (s *Store) lead() {
	s.mu.Lock()
	n := min(len(s.queue), maxBatch)
	batch := s.queue[:n:n]
	s.queue = s.queue[n:]
	s.mu.Unlock()

	// The deferred hand-over also runs if an Update function calls
	// runtime.Goexit, so the queue never stalls behind a vanished leader.
	defer func() {
		for _, c := range batch {
			if !c.done {
				c.done, c.err = true, errAborted
			}
		}
		for _, c := range batch[1:] {
			c.wake <- struct{}{}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.queue) == 0 {
			s.queue, s.busy = nil, false
			return
		}
		next := s.queue[0]
		next.lead = true
		next.wake <- struct{}{}
	}()
	s.commit(batch)
}

// commit runs every call's function against its own overlay in one bbolt
// transaction and commits it. A function's error or panic discards only its
// own overlay; a failed commit fails every call that would have written.
func (s *Store) commit(batch []*call) {
	btx, err := s.db.Begin(true)
	if err != nil {
		finish(batch, fmt.Errorf("storage/bolt: begin: %w", err))
		return
	}
	defer btx.Rollback() // no-op after Commit

	b := btx.Bucket(bucket)
	var ok []*call
	wrote := 0 // calls in ok that changed something
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.done, c.err = true, err
			continue
		}
		o := &overlay{b: b}
		if err := c.run(o); err != nil {
			c.done, c.err = true, err
			continue
		}
		if err := o.apply(); err != nil {
			// Earlier writes of this overlay are already in btx and cannot
			// be taken out alone: fail the batch.
			finish(batch, fmt.Errorf("storage/bolt: write: %w", err))
			return
		}
		if len(o.writes) > 0 {
			wrote++
		}
		ok = append(ok, c)
	}
	if wrote == 0 {
		// Nothing to make durable: roll back, skipping the fsync.
		finish(ok, nil)
		return
	}
	if err := btx.Commit(); err != nil {
		finish(ok, fmt.Errorf("storage/bolt: commit: %w", err))
		return
	}
	s.commits.Add(1)
	s.writes.Add(uint64(wrote))
	finish(ok, nil)
}

// run calls the function, turning a panic into a recorded failure so the
// batch goes on; the caller re-panics on its own goroutine.
func (c *call) run(o *overlay) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.panicked = r
			err = fmt.Errorf("storage/bolt: update function panicked: %v", r)
		}
	}()
	return c.fn(o)
}

// finish records err as the result of every call in calls not yet done.
func finish(calls []*call, err error) {
	for _, c := range calls {
		if !c.done {
			c.done, c.err = true, err
		}
	}
}
