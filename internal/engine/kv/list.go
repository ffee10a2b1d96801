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
	"filter":    {Type: framework.TypeString},
}

type listIn struct {
	Prefix    string `field:"path"`
	Recursive bool   `field:"recursive"`
	After     string `field:"after"`
	Limit     int    `field:"limit"`
	Filter    string `field:"filter"`
}

// maxFilterLen bounds a search pattern.
const maxFilterLen = 256

// list answers a LIST of in.Prefix among the keys stored below base. A
// plain list gives the names directly below the prefix, folders with a
// trailing "/"; a recursive one gives every key below it, relative to the
// prefix, sorted and paged. A recursive list with a filter is a search: it
// keeps the keys whose path below the prefix matches the glob (see
// globMatch), and pages over the matches. Nothing to list is a bare 404,
// as in Vault.
func list(ctx context.Context, r storage.Reader, base string, in listIn) (*logical.Response, error) {
	prefix := in.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if in.Limit < 0 {
		return nil, logical.InvalidRequest("limit must not be negative")
	}
	if in.Filter != "" && !in.Recursive {
		return nil, logical.InvalidRequest("filter needs recursive=true")
	}
	if len(in.Filter) > maxFilterLen {
		return nil, logical.InvalidRequest("filter is longer than %d bytes", maxFilterLen)
	}
	var keep func(string) bool
	if in.Filter != "" {
		pattern := strings.ToLower(in.Filter)
		if !strings.ContainsAny(pattern, "*?") {
			pattern = "*" + pattern + "*"
		}
		keep = func(key string) bool { return globMatch(pattern, strings.ToLower(key)) }
	}
	var keys []string
	var err error
	if in.Recursive {
		limit := in.Limit
		if limit == 0 {
			limit = defaultListLimit
		}
		limit = min(limit, maxListLimit)
		keys, err = walk(ctx, r, base+prefix, "", in.After, limit, keep, nil)
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
// after `after` (and that keep accepts, unless keep is nil), until out holds
// limit keys. Folders entirely at or before `after` are skipped without
// being listed.
func walk(ctx context.Context, r storage.Reader, root, rel, after string, limit int, keep func(string) bool, out []string) ([]string, error) {
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
			if full > after && (keep == nil || keep(full)) {
				out = append(out, full)
			}
			continue
		}
		// Every key below full starts with it and so sorts after it.
		if full > after || strings.HasPrefix(after, full) {
			if out, err = walk(ctx, r, root, full, after, limit, keep, out); err != nil {
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

// globMatch reports whether name matches pattern, where "*" stands for any
// run of characters ("/" included) and "?" for one character. It runs in
// O(len(pattern)·len(name)) at worst: on a mismatch it only retries from
// the last "*".
func globMatch(pattern, name string) bool {
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(name) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == name[n]):
			p++
			n++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, n
			p++
		case star >= 0:
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
