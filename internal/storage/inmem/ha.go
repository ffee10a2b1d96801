package inmem

import (
	"context"
	"sync"

	"github.com/tresorhq/tresor/internal/storage"
)

// Locks is an in-memory lock table shared by the nodes of a test cluster:
// wrap one Store per node with WithHA(store, locks) and they elect one
// holder per key, as PostgreSQL's lock row or Raft leadership would.
type Locks struct {
	mu    sync.Mutex
	held  map[string]*lock
	freed chan struct{} // closed and replaced whenever a lock is freed
}

// NewLocks returns an empty lock table.
func NewLocks() *Locks {
	return &Locks{held: map[string]*lock{}, freed: make(chan struct{})}
}

// Break takes the lock named key from its holder (its lost channel
// closes), as an expired lease or a lost leadership would.
func (t *Locks) Break(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.held[key]; l != nil {
		t.releaseLocked(key, l)
	}
}

func (t *Locks) releaseLocked(key string, l *lock) {
	delete(t.held, key)
	close(l.lost)
	l.lost = nil
	close(t.freed)
	t.freed = make(chan struct{})
}

// HAStore is a Store with an HA lock table: a storage.HABackend.
type HAStore struct {
	*Store
	locks *Locks
}

// WithHA returns s as an HABackend over locks.
func WithHA(s *Store, locks *Locks) *HAStore { return &HAStore{Store: s, locks: locks} }

// HALock implements storage.HABackend.
func (s *HAStore) HALock(key, value string) (storage.Lock, error) {
	return &lock{t: s.locks, key: key, value: value}, nil
}

type lock struct {
	t          *Locks
	key, value string
	lost       chan struct{} // non-nil while held; guarded by t.mu
}

func (l *lock) Lock(ctx context.Context) (<-chan struct{}, error) {
	for {
		l.t.mu.Lock()
		if cur := l.t.held[l.key]; cur == nil {
			l.lost = make(chan struct{})
			l.t.held[l.key] = l
			lost := l.lost
			l.t.mu.Unlock()
			return lost, nil
		}
		freed := l.t.freed
		l.t.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *lock) Unlock(context.Context) error {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	if l.t.held[l.key] == l {
		l.t.releaseLocked(l.key, l)
	}
	return nil
}

func (l *lock) Value(context.Context) (bool, string, error) {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	if cur := l.t.held[l.key]; cur != nil {
		return true, cur.value, nil
	}
	return false, "", nil
}
