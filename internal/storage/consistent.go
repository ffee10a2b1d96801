package storage

import "context"

// Viewer is implemented by stores that can read from one consistent
// snapshot without blocking writers (a bbolt read transaction, a
// PostgreSQL REPEATABLE READ transaction). Backups use it.
type Viewer interface {
	// View calls fn once with a reader that sees the store as it was at
	// one moment, whatever is written meanwhile. The reader is valid only
	// until fn returns.
	View(ctx context.Context, fn func(r Reader) error) error
}

// ReadConsistent calls fn with a reader over one consistent snapshot of s:
// s's View when s is a Viewer, otherwise a transaction of Update that fn
// only reads in. In the second case fn may run more than once and blocks
// writers while it runs, so it must start over cleanly each time.
func ReadConsistent(ctx context.Context, s Store, fn func(r Reader) error) error {
	if v, ok := s.(Viewer); ok {
		return v.View(ctx, fn)
	}
	return s.Update(ctx, func(tx Tx) error { return fn(tx) })
}
