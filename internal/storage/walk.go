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

// Clear deletes every key in s below prefix. It is not atomic: a crash
// part-way leaves the rest, and calling it again finishes the job.
func Clear(ctx context.Context, s Store, prefix string) error {
	var keys []string
	if err := Walk(ctx, s, prefix, func(k string) error { keys = append(keys, k); return nil }); err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete %q: %w", k, err)
		}
	}
	return nil
}
