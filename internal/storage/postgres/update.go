package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tresorhq/tresor/internal/pgsql"
	"github.com/tresorhq/tresor/internal/storage"
)

const (
	// maxAttempts bounds how often Update runs fn when its transaction
	// keeps losing to concurrent ones. Thirty-two writers hammering one
	// key need a few dozen at worst; a hundred leaves room.
	maxAttempts = 100
	// maxBackoff caps the jittered wait between attempts.
	maxBackoff = 20 * time.Millisecond
)

// Update implements storage.Store. fn runs in a SERIALIZABLE transaction,
// so it sees its own writes and a consistent snapshot, and the commit fails
// rather than lose a concurrent update; such failures (SQLSTATE 40001, and
// deadlocks, 40P01) are retried with a fresh transaction.
func (s *Store) Update(ctx context.Context, fn func(tx storage.Tx) error) error {
	var w *written
	if s.cache != nil {
		// Whatever fn writes, in any attempt, is forgotten before it is
		// written and again once the transaction is over, committed or
		// rolled back.
		w = &written{cache: s.cache}
		s.cache.beginWrite()
		defer func() { s.cache.endWrite(w.keys...) }()
	}
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			if werr := wait(ctx, attempt); werr != nil {
				return fmt.Errorf("storage/postgres: update: %w", werr)
			}
		}
		err = s.attempt(ctx, fn, w)
		if !retryable(err) {
			return err
		}
	}
	return fmt.Errorf("%w (%d attempts): %w", ErrTooManyConflicts, maxAttempts, err)
}

// attempt runs fn once in its own transaction and commits it.
func (s *Store) attempt(ctx context.Context, fn func(tx storage.Tx) error, w *written) error {
	err := s.pool.Tx(ctx, "BEGIN ISOLATION LEVEL SERIALIZABLE", func(c *pgsql.Conn) error {
		return fn(&tx{q: s.q, c: c, w: w})
	})
	if errors.As(err, new(*pgsql.TxError)) {
		return fmt.Errorf("storage/postgres: %w", err)
	}
	return err
}

// retryable reports whether err means the transaction lost a race and
// running it again may succeed.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "40001", "40P01": // serialization_failure, deadlock_detected
		return true
	}
	return false
}

// wait sleeps a random time below an exponentially growing bound, so
// writers that collided spread out instead of colliding again.
func wait(ctx context.Context, attempt int) error {
	bound := min(time.Duration(100<<min(attempt, 20))*time.Microsecond, maxBackoff)
	t := time.NewTimer(rand.N(bound) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// written records the keys an Update wrote, for the read cache.
type written struct {
	cache *cache
	mu    sync.Mutex
	keys  []string
}

func (w *written) add(key string) {
	if w == nil {
		return
	}
	w.cache.forget(key)
	w.mu.Lock()
	w.keys = append(w.keys, key)
	w.mu.Unlock()
}

// tx is the storage.Tx handed to fn. Its reads bypass the read cache: they
// must see the transaction's snapshot and its own writes.
type tx struct {
	q queries
	c *pgsql.Conn
	w *written // nil without a cache
}

func (t *tx) Get(ctx context.Context, key string) (*storage.Entry, error) {
	return t.q.get(ctx, t.c, key)
}

func (t *tx) List(ctx context.Context, prefix string) ([]string, error) {
	return t.q.list(ctx, t.c, prefix)
}

func (t *tx) Put(ctx context.Context, e *storage.Entry) error {
	t.w.add(e.Key)
	return t.q.put(ctx, t.c, e)
}

func (t *tx) Delete(ctx context.Context, key string) error {
	t.w.add(key)
	return t.q.delete(ctx, t.c, key)
}

var _ storage.Viewer = (*Store)(nil)

// View implements storage.Viewer with a REPEATABLE READ, READ ONLY
// transaction: one snapshot for all of fn's reads, which never fails with a
// serialization error and blocks no writer. Its reads bypass the cache.
func (s *Store) View(ctx context.Context, fn func(r storage.Reader) error) error {
	err := s.pool.Tx(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", func(c *pgsql.Conn) error {
		return fn(&tx{q: s.q, c: c})
	})
	if errors.As(err, new(*pgsql.TxError)) {
		return fmt.Errorf("storage/postgres: %w", err)
	}
	return err
}
