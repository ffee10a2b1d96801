package kv

import (
	"context"
	"fmt"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) pathSubkeys() *framework.Path {
	return &framework.Path{
		Pattern: "subkeys/{path...}",
		Fields: map[string]*framework.Field{
			"version": {Type: framework.TypeInt, Validate: nonNegative, Description: "Version to read; 0 or absent reads the latest."},
			"depth":   {Type: framework.TypeInt, Validate: nonNegative, Description: "Levels of nesting to return; 0 for all."},
		},
		Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.readSubkeys},
		Synopsis:   "Read the structure of a secret's data, with every value replaced by null.",
	}
}

type subkeysIn struct {
	Path    string `field:"path"`
	Version int    `field:"version"`
	Depth   int    `field:"depth"`
}

func (b *Backend) readSubkeys(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in subkeysIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	n, md, meta, err := b.liveVersion(ctx, req, in.Path, in.Version)
	if err != nil {
		return nil, err
	}
	var data map[string]any
	if raw := meta.dataOf(n); raw != nil {
		if err := decodeJSON(raw, &data); err != nil {
			return nil, fmt.Errorf("decode %q: %w", metaKey(in.Path), err)
		}
		if data == nil {
			data = map[string]any{}
		}
	} else if n != 0 {
		// nil here means trimmed or destroyed by a concurrent writer.
		if data, err = loadData(ctx, req.Storage, in.Path, n); err != nil {
			return nil, err
		}
	}
	if data == nil {
		return goneResponse("subkeys", md), nil
	}
	return &logical.Response{Data: map[string]any{"subkeys": subkeys(data, in.Depth, 1), "metadata": md}}, nil
}

// subkeys replaces every value below objects with nil, descending at most
// depth levels (0: all).
func subkeys(m map[string]any, depth, level int) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		child, ok := v.(map[string]any)
		if ok && (depth == 0 || level < depth) {
			out[k] = subkeys(child, depth, level+1)
		} else {
			out[k] = nil
		}
	}
	return out
}
