package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tresorhq/tresor/internal/storage"
)

// readRaw returns version n of path as its stored JSON object, or nil when
// it is gone (trimmed or destroyed by a concurrent writer). A KV read only
// re-encodes the data, so it is passed through undecoded.
func readRaw(ctx context.Context, r storage.Reader, path string, n int) (json.RawMessage, error) {
	key := versionKey(path, n)
	e, err := r.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	raw, err := rawObject(e.Value, key)
	if err == nil && !json.Valid(raw) {
		return nil, fmt.Errorf("decode %q: not a JSON object", key)
	}
	return raw, err
}

// rawObject checks that raw, valid JSON read from key, is an object (null
// and empty stand for an empty one).
func rawObject(raw []byte, key string) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return json.RawMessage("{}"), nil
	case raw[0] != '{':
		return nil, fmt.Errorf("decode %q: not a JSON object", key)
	}
	return json.RawMessage(raw), nil
}
