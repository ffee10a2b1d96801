package lease

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tresorhq/tresor/internal/storage"
)

// Tidy drops index entries that point nowhere: due, token and irrevocable
// entries whose lease is gone or no longer matches them. Every change
// writes a lease and its entries together, so there is normally nothing to
// do; Tidy repairs stores edited by hand or by an older version. It walks
// the whole index, so it costs time in proportion to the leases stored.
func (m *Manager) Tidy(ctx context.Context) error {
	for _, prefix := range []string{expPrefix, tokenPrefix, irrevocablePrefix} {
		err := storage.Walk(ctx, m.s, prefix, func(key string) error {
			return m.tidyEntry(ctx, key)
		})
		if err != nil {
			return fmt.Errorf("tidy leases: %w", err)
		}
	}
	return nil
}

// tidyEntry deletes the index entry key unless its lease points back at it.
func (m *Manager) tidyEntry(ctx context.Context, key string) error {
	id := unescape(key[strings.LastIndexByte(key, '/')+1:])
	unlock := m.locks.lock(id)
	defer unlock()
	l, err := readLease(ctx, m.s, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if l != nil && slices.Contains(indexKeys(l), key) {
		return nil
	}
	if err := m.s.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete index entry %q: %w", key, err)
	}
	return nil
}
