package lease

import "sync"

// keyLocks serialises work on one lease (an explicit revoke racing the
// expiry loop must call the engine once), without a lock per stored lease:
// an entry lives only while someone holds or waits for it.
type keyLocks struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu      sync.Mutex
	holders int // holding or waiting
}

// lock locks id and returns its unlock function.
func (k *keyLocks) lock(id string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = make(map[string]*keyLock)
	}
	l := k.locks[id]
	if l == nil {
		l = &keyLock{}
		k.locks[id] = l
	}
	l.holders++
	k.mu.Unlock()

	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.holders--
		if l.holders == 0 {
			delete(k.locks, id)
		}
		k.mu.Unlock()
	}
}
