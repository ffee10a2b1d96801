package bolt

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/tresorhq/tresor/internal/storage"
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
	names := list(o.b, prefix)
	if !o.touches(prefix) {
		return names, nil
	}
	// Rare path: merge the buffered writes into the committed names.
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if o.alive(prefix + n) {
			seen[n] = true
		}
	}
	for k, v := range o.writes {
		if v != nil && strings.HasPrefix(k, prefix) {
			seen[childName(k[len(prefix):])] = true
		}
	}
	merged := make([]string, 0, len(seen))
	for n := range seen {
		merged = append(merged, n)
	}
	slices.Sort(merged)
	return merged, nil
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

// touches reports whether a buffered write lies below prefix.
func (o *overlay) touches(prefix string) bool {
	for k := range o.writes {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// alive reports whether name (a key, or a folder ending in "/") from the
// committed listing survives the buffered deletes.
func (o *overlay) alive(name string) bool {
	if !strings.HasSuffix(name, "/") {
		v, ok := o.writes[name]
		return !ok || v != nil
	}
	p := []byte(name)
	c := o.b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); k, _ = c.Next() {
		if v, ok := o.writes[string(k)]; !ok || v != nil {
			return true
		}
	}
	return false
}

// get reads key from b, copying the value out of bbolt's memory map.
func get(b *bbolt.Bucket, key string) (*storage.Entry, error) {
	k, v := b.Cursor().Seek([]byte(key))
	if k == nil || string(k) != key {
		return nil, storage.ErrNotFound
	}
	return &storage.Entry{Key: key, Value: append([]byte{}, v...)}, nil
}

// list returns the names directly below prefix in b, sorted, folders once
// with a trailing "/". After a folder it seeks past the folder's subtree, so
// the cost grows with the number of names, not of keys below them.
func list(b *bbolt.Bucket, prefix string) []string {
	names := []string{}
	p := []byte(prefix)
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); {
		name := childName(string(k[len(p):]))
		names = append(names, name)
		if !strings.HasSuffix(name, "/") {
			k, _ = c.Next()
			continue
		}
		// Every key below prefix+name sorts before prefix+name with its
		// "/" replaced by "0", the next byte.
		next := append([]byte(prefix+name[:len(name)-1]), '/'+1)
		k, _ = c.Seek(next)
	}
	return names
}

// childName is rest up to and including its first "/": the name List shows
// for a key whose remainder below the prefix is rest.
func childName(rest string) string {
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i+1]
	}
	return rest
}
