// Package inmem is a storage.Store held in memory: for dev mode and tests.
// Nothing survives the process.
package inmem

import (
	"context"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/tresorhq/tresor/internal/storage"
)

// Store is an in-memory storage.Store. The zero value is not usable; call New.
type Store struct {
	mu   sync.RWMutex
	data map[string][]byte
	keys []string // sorted, for List
}

// New returns an empty store.
func New() *Store {
	return &Store{data: make(map[string][]byte)}
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
		i := sort.SearchStrings(s.keys, e.Key)
		s.keys = slices.Insert(s.keys, i, e.Key)
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
	i := sort.SearchStrings(s.keys, key)
	s.keys = slices.Delete(s.keys, i, i+1)
}

func (s *Store) list(prefix string) []string {
	out := []string{}
	for i := sort.SearchStrings(s.keys, prefix); i < len(s.keys); i++ {
		k := s.keys[i]
		if !strings.HasPrefix(k, prefix) {
			break
		}
		name := k[len(prefix):]
		if j := strings.IndexByte(name, '/'); j >= 0 {
			name = name[:j+1]
		}
		if len(out) == 0 || out[len(out)-1] != name {
			out = append(out, name)
		}
	}
	return out
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
	for _, k := range t.s.keys {
		if strings.HasPrefix(k, prefix) {
			scratch.put(&storage.Entry{Key: k})
		}
	}
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
