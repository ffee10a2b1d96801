package postgres

import (
	"sync"

	"github.com/tresorhq/tresor/internal/storage"
)

// The read cache. Get answers from memory what it read before, including
// "not found", so a hot KV read costs no round trip. It is correct only
// while this process is the only writer of the table: a single server, or
// the active node of an HA group (standbys forward, so they do not write).
// The store's own writes invalidate what they touch; anything written by
// another process is not seen, which is why under HA the cache answers
// only while this node holds the lock and starts empty each time it takes
// it (ha.go).
//
// A read racing a write must not leave the old value behind. A write
// first marks itself in flight and forgets each key before it writes it;
// when done (committed or not) it forgets them again and ends. Every such
// step moves gen on. A read remembers gen before it queries and fills the
// cache only if gen has not moved and no write is in flight: its answer
// then came from a moment with no write under way, so it is the current
// value. While a write is in flight the keys it touches are not cached, so
// every reader goes to the database and sees what PostgreSQL shows.

const (
	// defaultCacheEntries bounds how many keys the cache holds.
	defaultCacheEntries = 32 << 10
	// defaultCacheBytes bounds the values it holds, in bytes.
	defaultCacheBytes = 64 << 20
	// maxCachedValue is the largest value kept; bigger ones are read
	// from the database every time.
	maxCachedValue = 1 << 20
)

type cache struct {
	mu         sync.RWMutex
	gen        uint64
	inflight   int // writes under way
	entries    map[string]cached
	bytes      int
	maxEntries int
	maxBytes   int
}

// cached is one key's cached answer; found is false for "not found".
type cached struct {
	value []byte
	found bool
}

func newCache(maxEntries, maxBytes int) *cache {
	return &cache{entries: make(map[string]cached), maxEntries: maxEntries, maxBytes: maxBytes}
}

// get returns a copy of the cached answer for key (ok false on a miss;
// otherwise e nil means "not found") and, on a miss, the generation to
// pass to fill.
func (c *cache) get(key string) (e *storage.Entry, ok bool, gen uint64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v, ok := c.entries[key]
	if !ok {
		return nil, false, c.gen
	}
	if !v.found {
		return nil, true, 0
	}
	return &storage.Entry{Key: key, Value: append([]byte{}, v.value...)}, true, 0
}

// fill stores the answer a read that began at gen got (value nil: not
// found), unless a write has finished since.
func (c *cache) fill(key string, gen uint64, value []byte, found bool) {
	if len(value) > maxCachedValue {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.inflight > 0 {
		return
	}
	if old, ok := c.entries[key]; ok {
		c.bytes -= len(key) + len(old.value)
	}
	v := cached{found: found}
	if found {
		v.value = append([]byte{}, value...)
	}
	c.entries[key] = v
	c.bytes += len(key) + len(v.value)
	// Evict arbitrary entries (map order is random) until within bounds.
	for k, old := range c.entries {
		if len(c.entries) <= c.maxEntries && c.bytes <= c.maxBytes {
			break
		}
		if k == key {
			continue
		}
		delete(c.entries, k)
		c.bytes -= len(k) + len(old.value)
	}
}

// beginWrite marks a write in flight; endWrite must follow.
func (c *cache) beginWrite() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight++
	c.gen++
}

// forget drops key; a write calls it before writing key.
func (c *cache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.drop(key)
}

// endWrite ends a write begun with beginWrite, committed or not, forgetting
// the keys it touched once more.
func (c *cache) endWrite(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inflight--
	c.gen++
	for _, k := range keys {
		c.drop(k)
	}
}

func (c *cache) drop(key string) {
	if old, ok := c.entries[key]; ok {
		c.bytes -= len(key) + len(old.value)
		delete(c.entries, key)
	}
}

// purge forgets everything.
func (c *cache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	c.bytes = 0
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
