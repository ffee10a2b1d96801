package backup

import (
	"bytes"
	"context"
	"fmt"

	"github.com/tresorhq/tresor/internal/storage"
)

// Restore replaces everything in s with the backup b, in one transaction
// of s: afterwards s holds exactly b's entries, or, on any error, what it
// held before. b is checked completely first; an invalid b (an error
// wrapping ErrInvalid) changes nothing.
func Restore(ctx context.Context, s storage.Store, b []byte) (Info, error) {
	info, err := Check(b)
	if err != nil {
		return info, err
	}
	err = s.Update(ctx, func(tx storage.Tx) error {
		keep := make(map[string]bool, info.Entries)
		_, err := Read(bytes.NewReader(b), func(e *storage.Entry) error {
			keep[e.Key] = true
			return tx.Put(ctx, &storage.Entry{Key: e.Key, Value: bytes.Clone(e.Value)})
		})
		if err != nil {
			return err
		}
		var stale []string
		err = storage.Walk(ctx, tx, "", func(key string) error {
			if !keep[key] {
				stale = append(stale, key)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range stale {
			if err := tx.Delete(ctx, k); err != nil {
				return fmt.Errorf("delete %q: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		return Info{}, fmt.Errorf("backup: restore: %w", err)
	}
	return info, nil
}
