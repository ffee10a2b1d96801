package bolt

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/listing"
)

// overlay is the storage.Tx one Update function sees inside a shared batch
// transaction. Writes are buffered so a failing function leaves nothing
// behind; reads fall through to the batch transaction, which already holds
// the writes of the functions before it.
type overlay struct {
	b      *bbolt.Bucket
	writes map[string][]byte // a nil value marks a delete
}

func (o *overlay) Get(_ context.Context, key string) (*storage.Entry, error) {
	if v, ok := o.writes[key]; ok {
		if v == nil {
			return nil, storage.ErrNotFound
		}
		return &storage.Entry{Key: key, Value: bytes.Clone(v)}, nil
	}
	return get(o.b, key)
}

func (o *overlay) List(_ context.Context, prefix string) ([]string, error) {
	return listing.ListPending(o.b, prefix, o), nil
}

// Lookup and Each give listing.ListPending the buffered writes.
func (o *overlay) Lookup(key string) (buffered, deleted bool) {
	v, ok := o.writes[key]
	return ok, ok && v == nil
}

func (o *overlay) Each(fn func(key string, deleted bool)) {
	for k, v := range o.writes {
		fn(k, v == nil)
	}
}

func (o *overlay) Put(_ context.Context, e *storage.Entry) error {
	switch {
	case e.Key == "":
		return fmt.Errorf("%w: empty key", ErrInvalidEntry)
	case len(e.Key) > bbolt.MaxKeySize:
		return fmt.Errorf("%w: key of %d bytes exceeds %d", ErrInvalidEntry, len(e.Key), bbolt.MaxKeySize)
	case int64(len(e.Value)) > bbolt.MaxValueSize:
		return fmt.Errorf("%w: value of %d bytes exceeds %d", ErrInvalidEntry, len(e.Value), bbolt.MaxValueSize)
	}
	o.set(e.Key, append([]byte{}, e.Value...)) // never nil: nil means delete
	return nil
}

func (o *overlay) Delete(_ context.Context, key string) error {
	o.set(key, nil)
	return nil
}

func (o *overlay) set(key string, v []byte) {
	if o.writes == nil {
		o.writes = make(map[string][]byte, 1)
	}
	o.writes[key] = v
}

// apply copies the buffered writes into the batch transaction.
func (o *overlay) apply() error {
	for k, v := range o.writes {
		var err error
		if v == nil {
			err = o.b.Delete([]byte(k))
		} else {
			err = o.b.Put([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// get reads key from b, copying the value out of bbolt's memory map.
func get(b *bbolt.Bucket, key string) (*storage.Entry, error) {
	k, v := b.Cursor().Seek([]byte(key))
	if k == nil || string(k) != key {
		return nil, storage.ErrNotFound
	}
	return &storage.Entry{Key: key, Value: append([]byte{}, v...)}, nil
}
