package token

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// expiry is the loop's in-memory state: a hint of the earliest deadline,
// not an index (that lives in storage, see expindex.go).
type expiry struct {
	mu sync.Mutex
	// next is the earliest deadline known; zero when none is.
	next time.Time
	// wake nudges the loop when an earlier deadline arrives.
	wake chan struct{}
}

// schedule notes a deadline at (none when zero), waking the loop if it is
// the earliest known.
func (x *expiry) schedule(at time.Time) {
	if at.IsZero() {
		return
	}
	at = expBucket(at)
	x.mu.Lock()
	earliest := x.next.IsZero() || at.Before(x.next)
	if earliest {
		x.next = at
	}
	x.mu.Unlock()
	if earliest {
		select {
		case x.wake <- struct{}{}:
		default:
		}
	}
}

// reset replaces the hint with what a walk of the index found.
func (x *expiry) reset(next time.Time) {
	x.mu.Lock()
	x.next = next
	x.mu.Unlock()
}

// nextDeadline is the earliest deadline known, if any.
func (x *expiry) nextDeadline() (time.Time, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.next, !x.next.IsZero()
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
	if s.backfill {
		if err := s.backfillIndex(ctx); err != nil {
			s.logger.Error("index token expiries", "error", err)
		} else {
			s.backfill = false
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		sleep := maxSleep
		if at, ok := s.exp.nextDeadline(); ok {
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

// expire revokes every token whose expiry is due, with its children, and
// drops stale index entries on the way.
func (s *Store) expire(ctx context.Context) {
	now := s.now()
	next, err := s.walkDue(ctx, now, func(indexKey, name string) error {
		s.expireOne(ctx, now, indexKey, name)
		return ctx.Err()
	})
	if err != nil {
		if ctx.Err() == nil {
			s.logger.Error("walk expiry index", "error", err)
		}
		return // the hint stays; the loop retries within a second
	}
	s.exp.reset(next)
}

// expireOne handles the due index entry indexKey of the token named name.
// Failures are logged: a failed revocation is retried after retryDelay, a
// failed read at the next pass.
func (s *Store) expireOne(ctx context.Context, now time.Time, indexKey, name string) {
	k, ok := parseKey(name)
	if !ok {
		s.dropIndex(ctx, indexKey)
		return
	}
	// Decided under the token's lock, so that a concurrent renewal, which
	// moves the index entry, is either seen or not yet begun.
	unlock := s.locks.lock(k)
	e, err := s.entry(ctx, k)
	switch {
	case errors.Is(err, ErrNotFound):
		s.dropIndex(ctx, indexKey) // revoked already
		unlock()
		return
	case err != nil:
		unlock()
		s.logger.Error("read expired token", "error", err)
		return
	case !e.Expired(now):
		if expKeyAt(e.ExpireTime, k) != indexKey || e.ExpireTime.IsZero() {
			s.dropIndex(ctx, indexKey) // renewed since
		}
		unlock()
		return
	}
	unlock()
	if err := s.revokeTree(ctx, k); err != nil {
		s.logger.Error("revoke expired token", "error", err)
		retry := expKeyAt(now.Add(retryDelay), k)
		err := s.store.Update(ctx, func(tx storage.Tx) error {
			if err := tx.Delete(ctx, indexKey); err != nil {
				return err
			}
			return tx.Put(ctx, &storage.Entry{Key: retry, Value: []byte{}})
		})
		if err != nil {
			s.logger.Error("reschedule expired token", "error", err)
		}
		return
	}
	// The revocation removed the entry of e's expiry; a retry entry is
	// elsewhere.
	if indexKey != expKeyAt(e.ExpireTime, k) {
		s.dropIndex(ctx, indexKey)
	}
}

// dropIndex deletes a stale index entry.
func (s *Store) dropIndex(ctx context.Context, indexKey string) {
	if err := s.store.Delete(ctx, indexKey); err != nil {
		s.logger.Error("delete expiry index entry", "error", err)
	}
}

// backfillIndex indexes the expiry and creation path of every stored
// token, for a view written before those indexes existed, then marks the view as indexed. It
// reads every token once, in the background.
func (s *Store) backfillIndex(ctx context.Context) error {
	names, err := s.store.List(ctx, idPrefix)
	if err != nil {
		return fmt.Errorf("list tokens: %w", err)
	}
	for _, name := range names {
		k, ok := parseKey(name)
		if !ok {
			continue
		}
		if err := s.backfillOne(ctx, k); err != nil {
			return err
		}
	}
	return markIndexed(ctx, s.store)
}

func (s *Store) backfillOne(ctx context.Context, k key) error {
	defer s.locks.lock(k)()
	e, err := s.read(ctx, k) // not cached: this is a one-off pass
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := putExpiry(ctx, s.store, e, k); err != nil {
		return fmt.Errorf("index token expiry: %w", err)
	}
	if err := putPath(ctx, s.store, e, k); err != nil {
		return fmt.Errorf("index token path: %w", err)
	}
	s.exp.schedule(e.ExpireTime)
	return nil
}
