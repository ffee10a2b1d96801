package storage

import (
	"context"
	"fmt"
	"strings"
)

// NewView returns a Store that sees only the keys of s below prefix, with
// the prefix removed: Get(ctx, "x") on a view over "logical/abc/" reads
// "logical/abc/x" in s. Update runs in one transaction of s, so a view keeps
// s's atomicity and durability.
//
// Keys are plain strings, not file paths: "../x" in a view is the literal key
// prefix+"../x", so nothing outside prefix can be read or written through
// the view.
//
// prefix must end in "/"; NewView panics otherwise, as that is a programming
// error (a view over "logical/ab" would also see "logical/abc/...").
func NewView(s Store, prefix string) Store {
	if !strings.HasSuffix(prefix, "/") {
		panic(fmt.Sprintf("storage: view prefix %q does not end in \"/\"", prefix))
	}
	return &view{s: s, prefix: prefix}
}

// view is a Store restricted to the keys below prefix.
type view struct {
	s      Store
	prefix string
}

func (v *view) Get(ctx context.Context, key string) (*Entry, error) {
	return viewGet(ctx, v.s, v.prefix, key)
}

func (v *view) List(ctx context.Context, prefix string) ([]string, error) {
	return v.s.List(ctx, v.prefix+prefix)
}

func (v *view) Put(ctx context.Context, e *Entry) error {
	return v.s.Put(ctx, &Entry{Key: v.prefix + e.Key, Value: e.Value})
}

func (v *view) Delete(ctx context.Context, key string) error {
	return v.s.Delete(ctx, v.prefix+key)
}

func (v *view) Update(ctx context.Context, fn func(tx Tx) error) error {
	return v.s.Update(ctx, func(tx Tx) error {
		return fn(&viewTx{tx: tx, prefix: v.prefix})
	})
}

// TxView is NewView for a transaction: a Tx that sees only the keys of tx
// below prefix, with the prefix removed. Several views of one tx let a
// single Update change two mounts' storage atomically:
//
//	s.Update(ctx, func(tx storage.Tx) error {
//		src := storage.TxView(tx, "logical/"+srcUUID+"/")
//		dst := storage.TxView(tx, "logical/"+dstUUID+"/")
//		...
//	})
//
// The view is valid only while tx is. As with NewView, prefix must end in
// "/" and TxView panics otherwise.
func TxView(tx Tx, prefix string) Tx {
	if !strings.HasSuffix(prefix, "/") {
		panic(fmt.Sprintf("storage: view prefix %q does not end in \"/\"", prefix))
	}
	return &viewTx{tx: tx, prefix: prefix}
}

// viewTx is a Tx restricted to the keys below prefix.
type viewTx struct {
	tx     Tx
	prefix string
}

func (v *viewTx) Get(ctx context.Context, key string) (*Entry, error) {
	return viewGet(ctx, v.tx, v.prefix, key)
}

func (v *viewTx) List(ctx context.Context, prefix string) ([]string, error) {
	return v.tx.List(ctx, v.prefix+prefix)
}

func (v *viewTx) Put(ctx context.Context, e *Entry) error {
	return v.tx.Put(ctx, &Entry{Key: v.prefix + e.Key, Value: e.Value})
}

func (v *viewTx) Delete(ctx context.Context, key string) error {
	return v.tx.Delete(ctx, v.prefix+key)
}

// viewGet reads prefix+key from r and hands back an entry keyed relative to
// the view.
func viewGet(ctx context.Context, r Reader, prefix, key string) (*Entry, error) {
	e, err := r.Get(ctx, prefix+key)
	if err != nil {
		return nil, err
	}
	return &Entry{Key: key, Value: e.Value}, nil
}
