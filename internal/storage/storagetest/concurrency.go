package storagetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

const (
	workers   = 32
	perWorker = 20
)

func testConcurrency(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("no lost updates", func(t *testing.T) {
		s := newStore(t)
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range perWorker {
					if err := s.Update(t.Context(), func(tx storage.Tx) error { return increment(t.Context(), tx) }); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Update: %v", err)
		}
		mustEqual(t, s, "counter", strconv.Itoa(workers*perWorker))
	})
	t.Run("concurrent puts of distinct keys are all visible", func(t *testing.T) {
		s := newStore(t)
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				for i := range perWorker {
					key := fmt.Sprintf("w%02d/k%02d", w, i)
					if err := s.Put(t.Context(), &storage.Entry{Key: key, Value: []byte(key)}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("Put: %v", err)
		}
		if got := mustList(t, s, ""); len(got) != workers {
			t.Fatalf("List(\"\") returned %d folders, want %d", len(got), workers)
		}
		for w := range workers {
			for i := range perWorker {
				key := fmt.Sprintf("w%02d/k%02d", w, i)
				mustEqual(t, s, key, key)
			}
		}
	})
}

// increment adds one to the decimal counter under "counter".
func increment(ctx context.Context, tx storage.Tx) error {
	n := 0
	e, err := tx.Get(ctx, "counter")
	switch {
	case errors.Is(err, storage.ErrNotFound):
	case err != nil:
		return err
	default:
		if n, err = strconv.Atoi(string(e.Value)); err != nil {
			return fmt.Errorf("counter holds %q: %w", e.Value, err)
		}
	}
	return tx.Put(ctx, &storage.Entry{Key: "counter", Value: []byte(strconv.Itoa(n + 1))})
}
