package token

import (
	"bytes"
	"sync"
)

// keyLocks are the store's write locks, one per token key, created on demand
// and dropped when nobody holds or waits for them. Writes to different
// tokens run concurrently, so that the storage backend can commit them
// together; writes to one token are serialised, so that its storage and
// cache entries move together.
//
// A creation takes its new token's key exclusively and its parent's key
// shared: creations under one parent run concurrently, while a revocation,
// which takes the parent's key exclusively, waits for them and keeps new
// ones out. Every other write holds one key at a time.
type keyLocks struct {
	mu sync.Mutex
	m  map[key]*keyLock
}

type keyLock struct {
	sync.RWMutex
	refs int // holders and waiters; guarded by keyLocks.mu
}

// ref returns the lock of k, counting the caller in.
func (l *keyLocks) ref(k key) *keyLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = make(map[key]*keyLock)
	}
	kl := l.m[k]
	if kl == nil {
		kl = new(keyLock)
		l.m[k] = kl
	}
	kl.refs++
	return kl
}

// unref counts the caller out of the lock of k.
func (l *keyLocks) unref(k key, kl *keyLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if kl.refs--; kl.refs == 0 {
		delete(l.m, k)
	}
}

// lock takes k exclusively and returns its unlock.
func (l *keyLocks) lock(k key) (unlock func()) {
	kl := l.ref(k)
	kl.Lock()
	return func() {
		kl.Unlock()
		l.unref(k, kl)
	}
}

// lockUnder takes k exclusively and parent shared, in key order so that two
// callers never wait for each other crosswise. A k equal to parent is taken
// once, exclusively.
func (l *keyLocks) lockUnder(k, parent key) (unlock func()) {
	if k == parent {
		return l.lock(k)
	}
	kl, pl := l.ref(k), l.ref(parent)
	if bytes.Compare(k[:], parent[:]) < 0 {
		kl.Lock()
		pl.RLock()
	} else {
		pl.RLock()
		kl.Lock()
	}
	return func() {
		pl.RUnlock()
		kl.Unlock()
		l.unref(parent, pl)
		l.unref(k, kl)
	}
}
