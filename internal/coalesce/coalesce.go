// Package coalesce lets concurrent callers share one call when each needs
// the answer of a call that started after it asked (a fresh answer, never
// one computed before the question): a Raft read-index round, or a
// standby asking the active node for one. While a call runs, new callers
// wait for the next one, which starts as soon as the running call ends and
// serves all of them; so a burst of N callers costs about two calls, not N.
package coalesce

import (
	"context"
	"sync"
)

// Fresh coalesces calls of one function. The zero value is ready to use.
type Fresh[T any] struct {
	mu   sync.Mutex
	next *round[T] // not yet started; joined by new callers
	busy bool      // a call is running
}

type round[T any] struct {
	done chan struct{}
	v    T
	err  error
}

// Do returns the result of a call of fn that started after Do was called,
// shared with the other callers of the same round, or ctx's error if ctx
// ends first (the round goes on for the others). Every caller of one Fresh
// must pass an equivalent fn: a round runs the fn of whichever caller
// started it.
func (f *Fresh[T]) Do(ctx context.Context, fn func() (T, error)) (T, error) {
	f.mu.Lock()
	if f.next == nil {
		f.next = &round[T]{done: make(chan struct{})}
	}
	rd := f.next
	if !f.busy {
		f.busy = true
		f.next = nil
		go f.run(fn, rd)
	}
	f.mu.Unlock()
	select {
	case <-rd.done:
		return rd.v, rd.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (f *Fresh[T]) run(fn func() (T, error), rd *round[T]) {
	for rd != nil {
		rd.v, rd.err = fn()
		close(rd.done)
		f.mu.Lock()
		rd = f.next
		f.next = nil
		if rd == nil {
			f.busy = false
		}
		f.mu.Unlock()
	}
}
