// Package inmem is a storage.Store held in memory: for dev mode and tests.
// Nothing survives the process.
package inmem

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/google/btree"

	"github.com/tresorhq/tresor/internal/storage"
)

// Store is an in-memory storage.Store. The zero value is not usable; call New.
type Store struct {
	mu   sync.RWMutex
	data map[string][]byte
	// keys orders the keys for List; a B-tree keeps inserts O(log n) as
	// a dev server accumulates hundreds of thousands of entries.
	keys *btree.BTreeG[string]
}

// New returns an empty store.
func New() *Store {
	return &Store{data: make(map[string][]byte), keys: btree.NewOrderedG[string](32)}
}

// Get implements storage.Store.
func (s *Store) Get(_ context.Context, key string) (*storage.Entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.get(key)
}

// List implements storage.Store.
func (s *Store) List(_ context.Context, prefix string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.list(prefix), nil
}

// Put implements storage.Store.
func (s *Store) Put(_ context.Context, e *storage.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(e)
	return nil
}

// Delete implements storage.Store.
func (s *Store) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delete(key)
	return nil
}

// Update implements storage.Store. Writes are buffered and applied only when
// fn succeeds, so a failed transaction leaves nothing behind.
func (s *Store) Update(ctx context.Context, fn func(tx storage.Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &tx{s: s, writes: make(map[string][]byte)}
	if err := fn(tx); err != nil {
		return err
	}
	for k, v := range tx.writes {
		if v == nil {
			s.delete(k)
		} else {
			s.put(&storage.Entry{Key: k, Value: v})
		}
	}
	return nil
}

func (s *Store) get(key string) (*storage.Entry, error) {
	v, ok := s.data[key]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return &storage.Entry{Key: key, Value: slices.Clone(v)}, nil
}

func (s *Store) put(e *storage.Entry) {
	if _, ok := s.data[e.Key]; !ok {
		s.keys.ReplaceOrInsert(e.Key)
	}
	v := slices.Clone(e.Value)
	if v == nil {
		v = []byte{}
	}
	s.data[e.Key] = v
}

func (s *Store) delete(key string) {
	if _, ok := s.data[key]; !ok {
		return
	}
	delete(s.data, key)
	s.keys.Delete(key)
}

// list walks the keys below prefix, jumping over the contents of each
// folder it meets, so it costs one step per name listed, not per key.
func (s *Store) list(prefix string) []string {
	out := []string{}
	from := prefix
	for {
		var folder string
		s.keys.AscendGreaterOrEqual(from, func(k string) bool {
			if !strings.HasPrefix(k, prefix) {
				return false
			}
			name := k[len(prefix):]
			if j := strings.IndexByte(name, '/'); j >= 0 {
				folder = name[:j+1]
				return false
			}
			out = append(out, name)
			return true
		})
		if folder == "" {
			return out
		}
		out = append(out, folder)
		// '0' follows '/': resume after everything below the folder.
		from = prefix + folder[:len(folder)-1] + "0"
	}
}

// tx buffers writes; a nil value marks a delete.
type tx struct {
	s      *Store
	writes map[string][]byte
}

func (t *tx) Get(_ context.Context, key string) (*storage.Entry, error) {
	if v, ok := t.writes[key]; ok {
		if v == nil {
			return nil, storage.ErrNotFound
		}
		return &storage.Entry{Key: key, Value: slices.Clone(v)}, nil
	}
	return t.s.get(key)
}

func (t *tx) List(ctx context.Context, prefix string) ([]string, error) {
	if len(t.writes) == 0 {
		return t.s.list(prefix), nil
	}
	// Rare path: merge pending writes by listing a scratch copy.
	scratch := New()
	t.s.keys.AscendGreaterOrEqual(prefix, func(k string) bool {
		if !strings.HasPrefix(k, prefix) {
			return false
		}
		scratch.put(&storage.Entry{Key: k})
		return true
	})
	for k, v := range t.writes {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		if v == nil {
			scratch.delete(k)
		} else {
			scratch.put(&storage.Entry{Key: k})
		}
	}
	return scratch.list(prefix), nil
}

func (t *tx) Put(_ context.Context, e *storage.Entry) error {
	v := slices.Clone(e.Value)
	if v == nil {
		v = []byte{}
	}
	t.writes[e.Key] = v
	return nil
}

func (t *tx) Delete(_ context.Context, key string) error {
	t.writes[key] = nil
	return nil
}
