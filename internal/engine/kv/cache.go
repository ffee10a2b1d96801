package kv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/tresorhq/tresor/internal/storage"
)

// decodeCache remembers the decoded form of records that reads load,
// keyed by storage key and checked against a SHA-256 of the record's
// current bytes. A
// hit still reads (and decrypts) the record but skips the JSON decode, the
// costliest step of a KV read; a record changed by any writer — this
// backend, a move, an upgrade — no longer matches its bytes and is decoded
// afresh. Cached values are shared between readers and never modified.
type decodeCache struct {
	mu sync.RWMutex
	m  map[string]cachedRecord
}

// cachedRecord keeps a digest of the record's bytes, not the bytes: the
// plaintext of every cached record would otherwise stay in memory twice.
type cachedRecord struct {
	sum [sha256.Size]byte
	v   any
}

// maxCachedRecords bounds the cache; when full it starts over.
const maxCachedRecords = 4096

// load reads key and returns its decoded value, decoding with decode only
// when the cached bytes differ. It returns (nil, nil) when the key is
// missing.
func (c *decodeCache) load(ctx context.Context, r storage.Reader, key string, decode func([]byte) (any, error)) (any, error) {
	e, err := r.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	sum := sha256.Sum256(e.Value)
	c.mu.RLock()
	hit, ok := c.m[key]
	c.mu.RUnlock()
	if ok && hit.sum == sum {
		return hit.v, nil
	}
	v, err := decode(e.Value)
	if err != nil {
		return nil, fmt.Errorf("decode %q: %w", key, err)
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxCachedRecords {
		c.m = make(map[string]cachedRecord)
	}
	c.m[key] = cachedRecord{sum: sum, v: v}
	c.mu.Unlock()
	return v, nil
}

// readMeta is loadMeta for readers: the result must not be modified.
func (b *Backend) readMeta(ctx context.Context, r storage.Reader, path string) (*keyMeta, error) {
	v, err := b.cache.load(ctx, r, metaKey(path), func(raw []byte) (any, error) {
		var m keyMeta
		if err := decodeJSON(raw, &m); err != nil {
			return nil, err
		}
		if m.Versions == nil {
			m.Versions = make(map[int]*versionInfo)
		}
		return &m, nil
	})
	if v == nil || err != nil {
		return nil, err
	}
	return v.(*keyMeta), nil
}

// readVersion is loadData for readers: the result must not be modified.
func (b *Backend) readVersion(ctx context.Context, r storage.Reader, path string, n int) (map[string]any, error) {
	v, err := b.cache.load(ctx, r, versionKey(path, n), func(raw []byte) (any, error) {
		var data map[string]any
		if err := decodeJSON(raw, &data); err != nil {
			return nil, err
		}
		if data == nil {
			data = map[string]any{}
		}
		return data, nil
	})
	if v == nil || err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// readRaw returns version n of path as its stored JSON object, or nil when
// it is gone (trimmed or destroyed by a concurrent writer). A KV read only
// re-encodes the data, so it is passed through undecoded: decoding into
// maps was the costliest step of a read, and no bounded cache covers a
// large mount, so reads of 100,000 secrets ran slower than reads of 1,000.
func (b *Backend) readRaw(ctx context.Context, r storage.Reader, path string, n int) (json.RawMessage, error) {
	key := versionKey(path, n)
	e, err := r.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	raw := bytes.TrimSpace(e.Value)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return json.RawMessage("{}"), nil
	case raw[0] != '{' || !json.Valid(raw):
		return nil, fmt.Errorf("decode %q: not a JSON object", key)
	}
	return json.RawMessage(raw), nil
}
