package storage

import (
	"context"
	"fmt"
	"strings"
)

// Walk calls fn for every key in s below prefix (which is "" or ends in
// "/"), depth first in sorted order. It stops at the first error.
func Walk(ctx context.Context, s Reader, prefix string, fn func(key string) error) error {
	names, err := s.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("list %q: %w", prefix, err)
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		if strings.HasSuffix(name, "/") {
			err = Walk(ctx, s, prefix+name, fn)
		} else {
			err = fn(prefix + name)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// clearBatch is how many deletions Clear commits in one transaction: one
// fsync for many keys, while a crash loses little progress.
const clearBatch = 512

// Clear deletes every key in s below prefix, a batch of keys per
// transaction. It is not atomic: a crash part-way leaves the rest, and
// calling it again finishes the job.
func Clear(ctx context.Context, s Store, prefix string) error {
	var keys []string
	if err := Walk(ctx, s, prefix, func(k string) error { keys = append(keys, k); return nil }); err != nil {
		return err
	}
	for len(keys) > 0 {
		n := min(len(keys), clearBatch)
		batch := keys[:n]
		err := s.Update(ctx, func(tx Tx) error {
			for _, k := range batch {
				if err := tx.Delete(ctx, k); err != nil {
					return fmt.Errorf("delete %q: %w", k, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}
