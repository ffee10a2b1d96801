package storage

import "context"

// HABackend is implemented by backends that can elect one active node among
// several Tresor processes sharing them (PostgreSQL through a lock row with a
// lifetime, Raft through leadership). The server finds it by type assertion;
// a backend without it runs a single node.
type HABackend interface {
	// HALock returns a lock named key that, once held, advertises value
	// (the holder's API and cluster addresses, encoded by the caller).
	HALock(key, value string) (Lock, error)
}

// Lock is one node's handle on the active-node lock.
type Lock interface {
	// Lock blocks until this node holds the lock, ctx is done (then it
	// returns ctx.Err()) or the backend fails. On success the returned
	// channel is closed when the lock is lost (lifetime expired, leadership
	// gone, connection broken); the holder must stop acting as active at
	// once.
	Lock(ctx context.Context) (<-chan struct{}, error)
	// Unlock releases the lock if this node holds it; releasing a lock not
	// held is not an error.
	Unlock(ctx context.Context) error
	// Value reports whether some node holds the lock and the value it
	// advertised.
	Value(ctx context.Context) (held bool, value string, err error)
}
