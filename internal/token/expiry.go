package token

import (
	"container/heap"
	"context"
	"errors"
	"sync"
	"time"
)

// expiry is the in-memory index of expiry times: a min-heap of (time, key).
// Renewals push a new item and leave the old one, which the loop skips
// because the token is no longer expired when it comes due.
type expiry struct {
	mu    sync.Mutex
	items expiryHeap
	// wake nudges the loop when an earlier deadline arrives.
	wake chan struct{}
}

type expiryItem struct {
	at time.Time
	k  key
}

type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func (x *expiry) push(at time.Time, k key) {
	x.mu.Lock()
	earliest := len(x.items) == 0 || at.Before(x.items[0].at)
	heap.Push(&x.items, expiryItem{at: at, k: k})
	x.mu.Unlock()
	if earliest {
		select {
		case x.wake <- struct{}{}:
		default:
		}
	}
}

// due pops every item due at now.
func (x *expiry) due(now time.Time) []expiryItem {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []expiryItem
	for len(x.items) > 0 && !now.Before(x.items[0].at) {
		out = append(out, heap.Pop(&x.items).(expiryItem))
	}
	return out
}

// next is the earliest deadline, if any.
func (x *expiry) next() (time.Time, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.items) == 0 {
		return time.Time{}, false
	}
	return x.items[0].at, true
}

// maxSleep bounds the loop's sleep, so that an injected clock that jumps
// ahead is noticed within a second.
const maxSleep = time.Second

// retryDelay is how long a failed expiry revocation waits to be retried.
const retryDelay = 10 * time.Second

// Start runs the expiry loop until ctx ends or Stop is called. Calling
// Start on a running store does nothing.
func (s *Store) Start(ctx context.Context) {
	s.loopMu.Lock()
	defer s.loopMu.Unlock()
	if s.cancel != nil {
		return
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.loop(ctx, s.done)
}

// Stop ends the expiry loop and waits for it to return.
func (s *Store) Stop() {
	s.loopMu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.loopMu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

func (s *Store) loop(ctx context.Context, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		sleep := maxSleep
		if at, ok := s.exp.next(); ok {
			sleep = min(max(at.Sub(s.now()), 0), maxSleep)
		}
		timer.Reset(sleep)
		select {
		case <-ctx.Done():
			return
		case <-s.exp.wake:
		case <-timer.C:
		}
		s.expire(ctx)
	}
}

// expire revokes every token whose expiry is due, with its children.
func (s *Store) expire(ctx context.Context) {
	now := s.now()
	for _, it := range s.exp.due(now) {
		if ctx.Err() != nil {
			return
		}
		e, err := s.entry(ctx, it.k)
		if errors.Is(err, ErrNotFound) {
			continue // revoked already
		}
		if err == nil && !e.Expired(now) {
			continue // renewed since; a later item stands for it
		}
		if err == nil {
			err = s.revokeTree(ctx, it.k)
		}
		if err != nil {
			s.logger.Error("revoke expired token", "error", err)
			s.exp.push(now.Add(retryDelay), it.k)
		}
	}
}
