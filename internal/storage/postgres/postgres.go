// Package postgres is a storage.Store in a PostgreSQL table, compatible with
// Vault's "postgresql" storage backend: an operator can point Tresor at the
// table an existing Vault deployment created, and the server configuration
// reads the same:
//
//	storage "postgresql" {
//	  connection_url = "postgres://vault:secret@db:5432/vault?sslmode=disable"
//	  table          = "vault_kv_store"   # default
//	  max_parallel   = "128"              # default: the pool's connection cap
//	  ha_enabled     = "true"             # default false: see HALock
//	  ha_table       = "vault_ha_locks"   # default
//	}
//
// Open takes that stanza's attributes. As in Vault, a non-empty
// VAULT_PG_CONNECTION_URL environment variable overrides connection_url.
// Other attributes Vault knows, such as max_idle_connections, are accepted
// and ignored. With ha_enabled, HAStore gives the store as a
// storage.HABackend that elects one active node among the servers sharing
// the database through a lock row (ha.go).
//
// Get answers repeated reads, found or not, from a bounded in-memory cache
// that the store's own writes keep current (cache.go). It assumes this
// process is the table's only writer; under HA the cache answers only
// while this node holds the lock, and starts empty each time it takes it.
//
//	s, err := postgres.Open(ctx, stanza.Config)
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//
// The table has Vault's documented layout: each key "a/b/c" is one row with
// parent_path "/a/", path "/a/b/" and key "c" (a top-level key "k" has
// parent_path "" and path "/"), value BYTEA, primary key (path, key) and an
// index on parent_path. Open creates the table and index when the table does
// not exist and uses an existing one as it is.
//
// Every write commits before it returns, so it is as durable as the
// server's synchronous_commit setting makes a commit (the default, "on",
// flushes the WAL). Update runs fn in a SERIALIZABLE transaction and retries
// it, with jittered backoff, when PostgreSQL reports a serialization failure
// or a deadlock; after 100 attempts it gives up with ErrTooManyConflicts.
//
// Error text never includes the connection URL: it usually carries a
// password.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tresorhq/tresor/internal/parse"
	"github.com/tresorhq/tresor/internal/pgsql"
	"github.com/tresorhq/tresor/internal/storage"
)

// ErrConfig is returned by Open when the storage stanza is unusable: no
// connection URL, a URL that cannot be parsed, or a malformed number or
// boolean. The error text names the attribute but never shows the URL.
var ErrConfig = errors.New("storage/postgres: invalid configuration")

// ErrTooManyConflicts is returned by Update when the transaction still
// conflicted with concurrent ones after maxAttempts tries. None of its
// writes were committed.
var ErrTooManyConflicts = errors.New("storage/postgres: transaction kept conflicting")

const (
	// DefaultTable is the table Vault's documentation creates.
	DefaultTable = "vault_kv_store"
	// DefaultMaxParallel is Vault's default cap on open connections.
	DefaultMaxParallel = 128
	// envConnectionURL overrides connection_url when set, as in Vault.
	envConnectionURL = "VAULT_PG_CONNECTION_URL"
)

// Options tune OpenWith. The zero value behaves like Open.
type Options struct {
	// Getenv looks up environment variables; nil means os.Getenv. Tests
	// set it to avoid touching the process environment.
	Getenv func(string) string
	// CacheEntries bounds the read cache (see Purge); 0 means the
	// default (32,768 keys, 64 MiB of values), negative turns it off.
	CacheEntries int
}

// Store is a storage.Store backed by one PostgreSQL table. It is safe for
// concurrent use.
type Store struct {
	pool *pgsql.Pool
	q    queries
	// ha is the lock table's SQL, nil unless ha_enabled.
	ha *haQueries
	// haPool serves the lock's queries on connections of its own, so a
	// pool saturated with data queries cannot delay a renewal.
	haPool  *pgsql.Pool
	haTimes haTimes
	// cache is the read cache, nil when turned off. Under HA it answers
	// reads only while this node holds the lock (cacheOn): other nodes
	// write while it stands by, and a node that is not yet initialised
	// must see another node's initialisation.
	cache   *cache
	cacheOn atomic.Bool
}

var _ storage.Store = (*Store)(nil)

// Open connects to the database named by conf (the storage stanza's
// attributes), creates the table if it is missing, and returns the store.
func Open(ctx context.Context, conf map[string]string) (*Store, error) {
	return OpenWith(ctx, conf, Options{})
}

// OpenWith is Open with Options.
func OpenWith(ctx context.Context, conf map[string]string, opts Options) (*Store, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	url := conf["connection_url"]
	if env := getenv(envConnectionURL); env != "" {
		url = env
	}
	if url == "" {
		return nil, fmt.Errorf("%w: connection_url is required (or set %s)", ErrConfig, envConnectionURL)
	}
	ha := false
	if v := conf["ha_enabled"]; v != "" {
		var err error
		if ha, err = parse.Bool(v); err != nil {
			return nil, fmt.Errorf("%w: ha_enabled %q is not a boolean", ErrConfig, v)
		}
	}
	haTable := conf["ha_table"]
	if haTable == "" {
		haTable = DefaultHATable
	}
	maxParallel := DefaultMaxParallel
	if v := conf["max_parallel"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: max_parallel %q is not a positive integer", ErrConfig, v)
		}
		maxParallel = n
	}
	table := conf["table"]
	if table == "" {
		table = DefaultTable
	}

	pc, err := pgsql.ParseConfig(url) // its errors never quote the URL
	if err != nil {
		return nil, fmt.Errorf("%w: connection_url %v", ErrConfig, err)
	}
	pw := pc.Password()
	pool, err := pgsql.NewPool(pc, maxParallel)
	if err != nil {
		return nil, redact(fmt.Errorf("storage/postgres: open pool: %w", err), pw)
	}
	s := &Store{pool: pool, q: newQueries(table), haTimes: defaultHATimes}
	switch {
	case opts.CacheEntries == 0:
		s.cache = newCache(defaultCacheEntries, defaultCacheBytes)
	case opts.CacheEntries > 0:
		s.cache = newCache(opts.CacheEntries, defaultCacheBytes)
	}
	if err := s.ensureTable(ctx, table); err != nil {
		pool.Close()
		return nil, redact(err, pw)
	}
	if ha {
		if err := s.ensureHATable(ctx, haTable); err != nil {
			pool.Close()
			return nil, redact(err, pw)
		}
		q := newHAQueries(haTable)
		hp, err := pgsql.NewPool(pc, haPoolConns)
		if err != nil {
			pool.Close()
			return nil, redact(fmt.Errorf("storage/postgres: open lock pool: %w", err), pw)
		}
		s.ha, s.haPool = &q, hp
	}
	s.cacheOn.Store(!ha)
	return s, nil
}

// Close closes every connection. It waits for queries in flight.
func (s *Store) Close() error {
	s.pool.Close()
	if s.haPool != nil {
		s.haPool.Close()
	}
	return nil
}

// Get implements storage.Store. It answers from the read cache when it
// can (see Purge).
func (s *Store) Get(ctx context.Context, key string) (*storage.Entry, error) {
	if s.cache == nil || !s.cacheOn.Load() {
		return s.q.get(ctx, s.pool, key)
	}
	e, ok, gen := s.cache.get(key)
	if ok {
		if e == nil {
			return nil, storage.ErrNotFound
		}
		return e, nil
	}
	e, err := s.q.get(ctx, s.pool, key)
	switch {
	case err == nil:
		s.cache.fill(key, gen, e.Value, true)
	case errors.Is(err, storage.ErrNotFound):
		s.cache.fill(key, gen, nil, false)
	}
	return e, err
}

// Purge drops the whole read cache. The HA lock calls it when this node
// takes or loses the lock (other nodes may write meanwhile); a single
// server never needs it: the store's own writes keep the cache current.
func (s *Store) Purge() {
	if s.cache != nil {
		s.cache.purge()
	}
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	return s.q.list(ctx, s.pool, prefix)
}

// Put implements storage.Store. The entry is committed when Put returns.
func (s *Store) Put(ctx context.Context, e *storage.Entry) error {
	if s.cache == nil {
		return s.q.put(ctx, s.pool, e)
	}
	s.cache.beginWrite()
	s.cache.forget(e.Key)
	defer s.cache.endWrite(e.Key)
	return s.q.put(ctx, s.pool, e)
}

// Delete implements storage.Store. The deletion is committed when Delete
// returns.
func (s *Store) Delete(ctx context.Context, key string) error {
	if s.cache == nil {
		return s.q.delete(ctx, s.pool, key)
	}
	s.cache.beginWrite()
	s.cache.forget(key)
	defer s.cache.endWrite(key)
	return s.q.delete(ctx, s.pool, key)
}

// querier is what both the pool and a transaction's connection offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args []any, row func([][]byte) error) (pgconn.CommandTag, error)
}
