package barrier

import (
	"context"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/storage"
)

// Get implements storage.Store: it reads and decrypts the entry under key.
// A value that fails to decrypt gives an error wrapping ErrDecrypt.
func (b *Barrier) Get(ctx context.Context, key string) (*storage.Entry, error) {
	return b.get(ctx, b.under, key)
}

// List implements storage.Store. Keys are stored in clear, so it passes
// straight through (once unsealed).
func (b *Barrier) List(ctx context.Context, prefix string) ([]string, error) {
	return b.list(ctx, b.under, prefix)
}

// Put implements storage.Store: it encrypts e.Value under the active term.
func (b *Barrier) Put(ctx context.Context, e *storage.Entry) error {
	return b.put(ctx, b.under, e)
}

// Delete implements storage.Store.
func (b *Barrier) Delete(ctx context.Context, key string) error {
	return b.delete(ctx, b.under, key)
}

// Update implements storage.Store. fn's transaction encrypts and decrypts
// like the barrier itself; it commits or rolls back in the underlying store.
func (b *Barrier) Update(ctx context.Context, fn func(tx storage.Tx) error) error {
	if _, err := b.keys(); err != nil {
		return err
	}
	return b.under.Update(ctx, func(under storage.Tx) error {
		return fn(tx{b: b, under: under})
	})
}

// tx is the barrier's view of an underlying transaction.
type tx struct {
	b     *Barrier
	under storage.Tx
}

func (t tx) Get(ctx context.Context, key string) (*storage.Entry, error) {
	return t.b.get(ctx, t.under, key)
}

func (t tx) List(ctx context.Context, prefix string) ([]string, error) {
	return t.b.list(ctx, t.under, prefix)
}

func (t tx) Put(ctx context.Context, e *storage.Entry) error {
	return t.b.put(ctx, t.under, e)
}

func (t tx) Delete(ctx context.Context, key string) error {
	return t.b.delete(ctx, t.under, key)
}

// The shared implementations, over the store or a transaction.

func (b *Barrier) get(ctx context.Context, r storage.Reader, key string) (*storage.Entry, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if _, err := b.keys(); err != nil {
		return nil, err
	}
	e, err := r.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	// Take the keyring after the read so a value written under a term
	// installed meanwhile still finds its key.
	ring, err := b.keys()
	if err != nil {
		return nil, err
	}
	plaintext, err := ring.open(key, e.Value)
	if err != nil {
		return nil, err
	}
	return &storage.Entry{Key: key, Value: plaintext}, nil
}

// open decrypts value, stored under key, with the term it names.
func (r *keyring) open(key string, value []byte) ([]byte, error) {
	n, err := termOf(key, value)
	if err != nil {
		return nil, err
	}
	t, err := r.term(key, n)
	if err != nil {
		return nil, err
	}
	return decrypt(t.aead, key, value)
}

func (b *Barrier) list(ctx context.Context, r storage.Reader, prefix string) ([]string, error) {
	if _, err := b.keys(); err != nil {
		return nil, err
	}
	return r.List(ctx, prefix)
}

func (b *Barrier) put(ctx context.Context, w storage.Writer, e *storage.Entry) error {
	if err := checkKey(e.Key); err != nil {
		return err
	}
	ring, err := b.keys()
	if err != nil {
		return err
	}
	t := ring.active()
	value, err := encrypt(t.aead, t.number, e.Key, e.Value)
	if err != nil {
		return fmt.Errorf("barrier: %w", err)
	}
	t.encryptions.Add(1)
	return w.Put(ctx, &storage.Entry{Key: e.Key, Value: value})
}

func (b *Barrier) delete(ctx context.Context, w storage.Writer, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if _, err := b.keys(); err != nil {
		return err
	}
	return w.Delete(ctx, key)
}

// checkKey refuses the barrier's own part of the key space.
func checkKey(key string) error {
	if strings.HasPrefix(key, reservedPrefix) {
		return fmt.Errorf("%q: %w", key, ErrReservedKey)
	}
	return nil
}
