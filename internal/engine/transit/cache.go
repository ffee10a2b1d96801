package transit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tresorhq/tresor/internal/storage"
)

// policyPrefix is where keys live in the mount's storage (inside the
// barrier, like everything a backend stores).
const policyPrefix = "policy/"

// keyCache keeps loaded keys in memory, so an encryption costs no storage
// read and no unwrapping: readers load an immutable *policy through an
// atomic pointer without taking any lock. Writers of one key are
// serialised by its slot's mutex, store the new policy first and then
// publish it. size bounds the number of cached keys (0: no bound).
type keyCache struct {
	mu    sync.RWMutex
	slots map[string]*slot
	size  atomic.Int64
}

type slot struct {
	mu     sync.Mutex // held by writers and by the first load
	p      atomic.Pointer[policy]
	loaded atomic.Bool // p is authoritative (nil: no such key)
}

func (c *keyCache) slot(name string) *slot {
	c.mu.RLock()
	s := c.slots[name]
	c.mu.RUnlock()
	if s != nil {
		return s
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s = c.slots[name]; s != nil {
		return s
	}
	if c.slots == nil {
		c.slots = make(map[string]*slot)
	}
	if limit := int(c.size.Load()); limit > 0 && len(c.slots) >= limit {
		c.evictLocked()
	}
	s = &slot{}
	c.slots[name] = s
	return s
}

// evictLocked drops idle slots until the cache is below its bound. A slot
// busy with a writer is left alone; evicted keys reload from storage.
func (c *keyCache) evictLocked() {
	limit := int(c.size.Load())
	for name, s := range c.slots {
		if len(c.slots) < limit {
			return
		}
		if s.mu.TryLock() {
			delete(c.slots, name)
			s.mu.Unlock()
		}
	}
}

// get returns the key called name, or nil when there is none.
func (c *keyCache) get(ctx context.Context, st storage.Reader, name string) (*policy, error) {
	s := c.slot(name)
	if s.loaded.Load() {
		return s.p.Load(), nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(ctx, st, name)
}

func (s *slot) loadLocked(ctx context.Context, st storage.Reader, name string) (*policy, error) {
	if s.loaded.Load() {
		return s.p.Load(), nil
	}
	p, err := readPolicy(ctx, st, name)
	if err != nil {
		return nil, err
	}
	s.p.Store(p)
	s.loaded.Store(true)
	return p, nil
}

// update changes the key called name under its writer lock: fn gets the
// current policy (nil if none) and returns the new one (nil deletes it),
// which is stored before it is published. fn may return errSkip to change
// nothing.
func (c *keyCache) update(ctx context.Context, st storage.Store, name string, fn func(cur *policy) (*policy, error)) (*policy, error) {
	s := c.lockedSlot(name)
	defer s.mu.Unlock()
	cur, err := s.loadLocked(ctx, st, name)
	if err != nil {
		return nil, err
	}
	next, err := fn(cur)
	if errors.Is(err, errSkip) {
		return cur, nil
	}
	if err != nil {
		return nil, err
	}
	if next == nil {
		if err := st.Delete(ctx, policyPrefix+name); err != nil {
			return nil, fmt.Errorf("delete key: %w", err)
		}
		s.p.Store(nil)
		return nil, nil
	}
	raw, err := json.Marshal(next)
	if err != nil {
		return nil, err
	}
	if err := st.Put(ctx, &storage.Entry{Key: policyPrefix + name, Value: raw}); err != nil {
		return nil, fmt.Errorf("store key: %w", err)
	}
	s.p.Store(next)
	return next, nil
}

// lockedSlot returns name's slot with its mutex held, making sure it is
// still the cache's slot: an evicted slot must not take a write, or a new
// slot could load the old value from storage and keep it.
func (c *keyCache) lockedSlot(name string) *slot {
	for {
		s := c.slot(name)
		s.mu.Lock()
		c.mu.RLock()
		current := c.slots[name] == s
		c.mu.RUnlock()
		if current {
			return s
		}
		s.mu.Unlock()
	}
}

// errSkip tells update to leave the key as it is.
var errSkip = errors.New("transit: no change")

func readPolicy(ctx context.Context, st storage.Reader, name string) (*policy, error) {
	e, err := st.Get(ctx, policyPrefix+name)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	return decodePolicy(e.Value)
}

func decodePolicy(raw []byte) (*policy, error) {
	var p policy
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decode key: %w", err)
	}
	if p.Versions == nil {
		p.Versions = map[int]*version{}
	}
	if err := p.build(); err != nil {
		return nil, err
	}
	return &p, nil
}
