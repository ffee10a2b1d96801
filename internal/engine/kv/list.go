package kv

import (
	"context"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Page sizes of recursive lists.
const (
	defaultListLimit = 1000
	maxListLimit     = 10000
)

// listFields are the parameters of a LIST.
var listFields = map[string]*framework.Field{
	"recursive": {Type: framework.TypeBool},
	"after":     {Type: framework.TypeString},
	"limit":     {Type: framework.TypeInt},
}

type listIn struct {
	Prefix    string `field:"path"`
	Recursive bool   `field:"recursive"`
	After     string `field:"after"`
	Limit     int    `field:"limit"`
}

// list answers a LIST of in.Prefix among the keys stored below base. A
// plain list gives the names directly below the prefix, folders with a
// trailing "/"; a recursive one gives every key below it, relative to the
// prefix, sorted and paged. Nothing to list is a bare 404, as in Vault.
func list(ctx context.Context, r storage.Reader, base string, in listIn) (*logical.Response, error) {
	prefix := in.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if in.Limit < 0 {
		return nil, logical.InvalidRequest("limit must not be negative")
	}
	var keys []string
	var err error
	if in.Recursive {
		limit := in.Limit
		if limit == 0 {
			limit = defaultListLimit
		}
		limit = min(limit, maxListLimit)
		keys, err = walk(ctx, r, base+prefix, "", in.After, limit, nil)
	} else {
		keys, err = r.List(ctx, base+prefix)
		if err == nil {
			keys = page(keys, in.After, in.Limit)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("list %q: %w", prefix, err)
	}
	if len(keys) == 0 {
		return nil, errNotFound
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

// walk appends to out, in sorted order, every key below root+rel that sorts
// after `after`, until out holds limit keys. Folders entirely at or before
// `after` are skipped without being listed.
func walk(ctx context.Context, r storage.Reader, root, rel, after string, limit int, out []string) ([]string, error) {
	names, err := r.List(ctx, root+rel)
	if err != nil {
		return out, err
	}
	for _, name := range names {
		if len(out) >= limit {
			break
		}
		full := rel + name
		if !strings.HasSuffix(name, "/") {
			if full > after {
				out = append(out, full)
			}
			continue
		}
		// Every key below full starts with it and so sorts after it.
		if full > after || strings.HasPrefix(after, full) {
			if out, err = walk(ctx, r, root, full, after, limit, out); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// page applies after/limit to a sorted list; limit 0 means no limit.
func page(keys []string, after string, limit int) []string {
	if after != "" {
		i := 0
		for i < len(keys) && keys[i] <= after {
			i++
		}
		keys = keys[i:]
	}
	if limit > 0 && len(keys) > limit {
		keys = keys[:limit]
	}
	return keys
}
