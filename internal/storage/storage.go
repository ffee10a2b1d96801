// Package storage defines the key/value contract every Tresor storage backend
// fulfils, and the small decorators built on it.
//
// Keys are slash-separated paths ("logical/3f2a.../app/db"). Values are opaque
// bytes: everything above the barrier sees plaintext, everything below it
// (the backends) sees only ciphertext.
//
// A backend must be safe for concurrent use. A successful Put, Delete or
// Update is durable when it returns: the write survives a crash of the
// process or the machine.
package storage

import (
	"context"
	"errors"
)

// ErrNotFound is returned by Get when no entry exists under the key.
var ErrNotFound = errors.New("storage: entry not found")

// Entry is one stored value.
type Entry struct {
	Key   string
	Value []byte
}

// Reader is the read half of a Store or a transaction.
type Reader interface {
	// Get returns the entry under key, or ErrNotFound.
	Get(ctx context.Context, key string) (*Entry, error)
	// List returns the names directly below prefix, sorted. A name that has
	// further entries below it is returned once with a trailing "/", as
	// Vault does ("a", "b/"). prefix is normally "" or ends in "/".
	List(ctx context.Context, prefix string) ([]string, error)
}

// Writer is the write half of a Store or a transaction.
type Writer interface {
	// Put stores e, replacing any existing entry under e.Key.
	Put(ctx context.Context, e *Entry) error
	// Delete removes the entry under key. Deleting a missing key is not an
	// error.
	Delete(ctx context.Context, key string) error
}

// Tx is the view of a store inside Update.
type Tx interface {
	Reader
	Writer
}

// Store is a transactional key/value store.
type Store interface {
	Reader
	Writer
	// Update runs fn in a read-write transaction: either every write fn
	// makes is committed (durably) or none is. If fn returns an error the
	// transaction is rolled back and that error is returned.
	//
	// fn may be called more than once (a backend is free to retry a
	// transaction), so it must not have side effects outside tx other than
	// assigning results.
	Update(ctx context.Context, fn func(tx Tx) error) error
}
