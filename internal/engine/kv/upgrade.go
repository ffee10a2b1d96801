package kv

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// upgradeBatch is how many v1 keys one upgrade transaction moves.
const upgradeBatch = 128

// upgrade turns the v1 secrets of a mount into v2 secrets (each becomes
// version 1), then writes the marker that says it is done. Each batch
// moves its keys in one transaction, so an interrupted upgrade resumes
// where it stopped.
func (b *Backend) upgrade(ctx context.Context, s storage.Store) error {
	if _, err := s.Get(ctx, upgradedKey); err == nil {
		return nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("read upgrade marker: %w", err)
	}
	keys, err := v1Keys(ctx, s, "")
	if err != nil {
		return fmt.Errorf("upgrade: list v1 keys: %w", err)
	}
	now := b.now().UTC()
	for len(keys) > 0 {
		batch := keys[:min(upgradeBatch, len(keys))]
		keys = keys[len(batch):]
		err := s.Update(ctx, func(tx storage.Tx) error {
			cfg, err := loadConfig(ctx, tx)
			if err != nil {
				return err
			}
			for _, k := range batch {
				var data map[string]any
				ok, err := loadJSON(ctx, tx, k, &data)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
				meta := &keyMeta{Created: now, Updated: now, Versions: make(map[int]*versionInfo)}
				if _, err := addVersion(ctx, tx, cfg, meta, k, data, now); err != nil {
					return err
				}
				if err := tx.Delete(ctx, k); err != nil {
					return fmt.Errorf("delete v1 key: %w", err)
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("upgrade: %w", err)
		}
	}
	if err := s.Put(ctx, &storage.Entry{Key: upgradedKey, Value: []byte(now.Format(time.RFC3339))}); err != nil {
		return fmt.Errorf("write upgrade marker: %w", err)
	}
	return nil
}

// v1Keys lists every key below prefix except v2 records.
func v1Keys(ctx context.Context, r storage.Reader, prefix string) ([]string, error) {
	names, err := r.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		full := prefix + name
		switch {
		case prefix == "" && (name == "./" || name == "."):
			// v2 records
		case strings.HasSuffix(name, "/"):
			sub, err := v1Keys(ctx, r, full)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		default:
			out = append(out, full)
		}
	}
	return out, nil
}
