// Package bolt is a storage.Store in a single bbolt file: Tresor's default
// backend for a single server.
//
// Open the database once per process; bbolt holds an exclusive file lock, so a
// second server on the same file fails with ErrLocked instead of corrupting it:
//
//	s, err := bolt.Open("/var/lib/tresor/tresor.db", bolt.Options{})
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// Every write (Put, Delete, Update) is fsync'd before it returns. To keep that
// affordable under load, writes are group-committed: a lone writer commits at
// once and pays one fsync, while writers that arrive during a commit are
// gathered into the next one, so N concurrent writers share far fewer than N
// fsyncs. Each Update still succeeds or fails on its own: one caller's error
// never rolls back another's writes. Stats reports commits and writes so tools
// can show fsyncs per write.
//
// Reads run in bbolt read transactions and never wait for writers. List seeks
// a cursor to the prefix and jumps over folders, so it never scans the whole
// database.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/listing"
)

// ErrLocked is returned by Open when another process holds the database's
// file lock for longer than Options.Timeout. The returned error's text names
// the file.
var ErrLocked = errors.New("storage/bolt: database is locked by another process")

// ErrInvalidEntry is returned by Put (in a Store or inside Update) for an
// entry bbolt cannot hold: an empty key, a key over 32 KiB, or a value of
// 2 GiB or more.
var ErrInvalidEntry = errors.New("storage/bolt: invalid entry")

// defaultTimeout is how long Open waits for the file lock when
// Options.Timeout is zero.
const defaultTimeout = time.Second

// bucket is the one bbolt bucket every key lives in.
var bucket = []byte("tresor")

// Options tune Open.
type Options struct {
	// Timeout is how long Open waits for the file lock; zero or less
	// means one second (bbolt itself would wait forever).
	Timeout time.Duration
	// NoSync skips fsync on commit. Only for tests: writes acknowledged
	// with NoSync set can be lost in a crash.
	NoSync bool
}

// Stats are counters since Open.
type Stats struct {
	// Commits is the number of bbolt transactions committed, each one
	// fsync.
	Commits uint64
	// Writes is the number of Put, Delete and Update calls that committed
	// at least one change. Commits/Writes is the fsyncs paid per write.
	Writes uint64
}

// Store is a storage.Store backed by a bbolt file. It is safe for
// concurrent use.
type Store struct {
	db *bbolt.DB

	// Group commit state: queue holds writers waiting for a commit; busy is
	// set while some writer leads a commit.
	mu    sync.Mutex
	queue []*call
	busy  bool

	commits atomic.Uint64
	writes  atomic.Uint64
}

// Open opens the database file at path, creating it (mode 0600) and its
// parent directory (mode 0700) when missing.
func Open(path string, opts Options) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("storage/bolt: create directory for %s: %w", path, err)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout, NoSync: opts.NoSync})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &lockedError{path: path}
	}
	if err != nil {
		return nil, fmt.Errorf("storage/bolt: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucket)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("storage/bolt: create bucket in %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close releases the file lock. Writes in progress finish first; later calls
// fail.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("storage/bolt: close: %w", err)
	}
	return nil
}

// Stats returns the commit and write counters.
func (s *Store) Stats() Stats {
	return Stats{Commits: s.commits.Load(), Writes: s.writes.Load()}
}

// Get implements storage.Store.
func (s *Store) Get(_ context.Context, key string) (*storage.Entry, error) {
	var e *storage.Entry
	err := s.db.View(func(tx *bbolt.Tx) error {
		var err error
		e, err = get(tx.Bucket(bucket), key)
		return err
	})
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("storage/bolt: get: %w", err)
	}
	return e, err
}

// List implements storage.Store.
func (s *Store) List(_ context.Context, prefix string) ([]string, error) {
	var names []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		names = listing.List(tx.Bucket(bucket), prefix)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storage/bolt: list: %w", err)
	}
	return names, nil
}

// Put implements storage.Store; it returns once the entry is fsync'd.
func (s *Store) Put(ctx context.Context, e *storage.Entry) error {
	return s.write(ctx, func(tx storage.Tx) error { return tx.Put(ctx, e) })
}

// Delete implements storage.Store; it returns once the delete is fsync'd.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.write(ctx, func(tx storage.Tx) error { return tx.Delete(ctx, key) })
}

// Update implements storage.Store. fn runs once, possibly on another
// writer's goroutine, in a transaction shared with other writers' functions;
// its writes are buffered and join the shared transaction only if it
// succeeds. If fn panics, the panic is re-raised in the caller. ctx is
// checked just before fn runs; once queued, a caller waits for its batch.
// If the shared commit fails, every caller in it gets the error (fn is not
// replayed).
func (s *Store) Update(ctx context.Context, fn func(tx storage.Tx) error) error {
	return s.write(ctx, fn)
}

// lockedError names the locked file while matching ErrLocked.
type lockedError struct{ path string }

func (e *lockedError) Error() string {
	return fmt.Sprintf("storage/bolt: database %s is locked by another process", e.path)
}

func (e *lockedError) Unwrap() error { return ErrLocked }

var _ storage.Viewer = (*Store)(nil)

// View implements storage.Viewer with one bbolt read transaction; writers
// are not blocked.
func (s *Store) View(ctx context.Context, fn func(r storage.Reader) error) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		return fn(txReader{b: tx.Bucket(bucket)})
	})
}

// txReader reads inside one bbolt read transaction.
type txReader struct{ b *bbolt.Bucket }

func (r txReader) Get(_ context.Context, key string) (*storage.Entry, error) { return get(r.b, key) }

func (r txReader) List(_ context.Context, prefix string) ([]string, error) {
	return listing.List(r.b, prefix), nil
}
