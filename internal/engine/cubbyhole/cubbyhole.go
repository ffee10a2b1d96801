// Package cubbyhole is Vault's cubbyhole secrets engine: storage private
// to each token. Any path can be read, written (the body replaces the
// secret), deleted and listed; what one token stores no other token sees,
// not even root.
//
// Secrets live in the mount's storage under "<token accessor>/<path>". The
// core sets req.Token on every authenticated request; a request without
// one is refused (403). When a token is revoked the core calls RevokeToken
// to destroy its cubbyhole.
package cubbyhole

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Backend is a mounted cubbyhole. It implements logical.Backend.
type Backend struct {
	*framework.Backend
}

// Factory builds a cubbyhole backend.
func Factory(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	return New()
}

// New returns a cubbyhole backend.
func New() (*Backend, error) {
	b := &Backend{}
	fb, err := framework.New(help, []*framework.Path{{
		Pattern:            "{path...}",
		TakesArbitraryData: true,
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   read,
			logical.CreateOperation: write,
			logical.UpdateOperation: write,
			logical.DeleteOperation: remove,
			logical.ListOperation:   list,
		},
		ExistenceCheck: exists,
		Synopsis:       "Read, write, delete and list secrets private to the calling token.",
	}})
	if err != nil {
		return nil, fmt.Errorf("cubbyhole: %w", err)
	}
	b.Backend = fb
	return b, nil
}

const help = `The cubbyhole secrets engine stores secrets private to each token. They
are destroyed when the token is revoked.`

// tokenPrefix is the storage prefix of the caller's cubbyhole.
func tokenPrefix(req *framework.Request) (string, error) {
	if req.Token == nil || !validAccessor(req.Token.Accessor) {
		return "", logical.ErrPermissionDenied
	}
	return req.Token.Accessor + "/", nil
}

func validAccessor(a string) bool {
	return a != "" && a != "." && a != ".." && !strings.Contains(a, "/")
}

// key is the storage key of the request's secret.
func key(req *framework.Request) (string, error) {
	prefix, err := tokenPrefix(req)
	if err != nil {
		return "", err
	}
	path := req.Param("path")
	if path == "" || strings.HasSuffix(path, "/") {
		return "", logical.InvalidRequest("missing path")
	}
	return prefix + path, nil
}

func read(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	k, err := key(req)
	if err != nil {
		return nil, err
	}
	e, err := req.Storage.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, &logical.Error{Kind: logical.KindNotFound}
	}
	if err != nil {
		return nil, fmt.Errorf("read cubbyhole: %w", err)
	}
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(e.Value))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		return nil, fmt.Errorf("decode cubbyhole entry: %w", err)
	}
	return &logical.Response{Data: data}, nil
}

func write(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	k, err := key(req)
	if err != nil {
		return nil, err
	}
	if len(req.Data) == 0 {
		return nil, logical.InvalidRequest("missing data fields")
	}
	raw, err := json.Marshal(req.Data)
	if err != nil {
		return nil, logical.InvalidRequest("failed to encode data")
	}
	if err := req.Storage.Put(ctx, &storage.Entry{Key: k, Value: raw}); err != nil {
		return nil, fmt.Errorf("write cubbyhole: %w", err)
	}
	return nil, nil
}

func remove(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	k, err := key(req)
	if err != nil {
		return nil, err
	}
	if err := req.Storage.Delete(ctx, k); err != nil {
		return nil, fmt.Errorf("delete cubbyhole entry: %w", err)
	}
	return nil, nil
}

func list(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	prefix, err := tokenPrefix(req)
	if err != nil {
		return nil, err
	}
	path := req.Param("path")
	if path != "" && !strings.HasSuffix(path, "/") {
		path += "/"
	}
	keys, err := req.Storage.List(ctx, prefix+path)
	if err != nil {
		return nil, fmt.Errorf("list cubbyhole: %w", err)
	}
	if len(keys) == 0 {
		return nil, &logical.Error{Kind: logical.KindNotFound}
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func exists(ctx context.Context, req *framework.Request) (bool, error) {
	k, err := key(req)
	if err != nil {
		return false, nil
	}
	_, err = req.Storage.Get(ctx, k)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// RevokeToken destroys the cubbyhole of the token with the given accessor,
// in one transaction.
func (b *Backend) RevokeToken(ctx context.Context, s storage.Store, accessor string) error {
	if !validAccessor(accessor) {
		return fmt.Errorf("cubbyhole: revoke: invalid accessor")
	}
	err := s.Update(ctx, func(tx storage.Tx) error {
		return deleteTree(ctx, tx, accessor+"/")
	})
	if err != nil {
		return fmt.Errorf("cubbyhole: revoke: %w", err)
	}
	return nil
}

// deleteTree deletes every key below prefix.
func deleteTree(ctx context.Context, tx storage.Tx, prefix string) error {
	names, err := tx.List(ctx, prefix)
	if err != nil {
		return err
	}
	for _, name := range names {
		if strings.HasSuffix(name, "/") {
			if err := deleteTree(ctx, tx, prefix+name); err != nil {
				return err
			}
			continue
		}
		if err := tx.Delete(ctx, prefix+name); err != nil {
			return err
		}
	}
	return nil
}
