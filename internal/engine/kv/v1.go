package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/parse"
	"github.com/tresorhq/tresor/internal/storage"
)

// v1Paths is the endpoint table of KV v1: one catch-all path whose body is
// the secret itself.
func (b *Backend) v1Paths() []*framework.Path {
	return []*framework.Path{{
		Pattern:            "{path...}",
		TakesArbitraryData: true,
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readV1,
			logical.CreateOperation: b.writeV1,
			logical.UpdateOperation: b.writeV1,
			logical.DeleteOperation: b.deleteV1,
			logical.ListOperation:   b.listV1,
		},
		ExistenceCheck: func(ctx context.Context, req *framework.Request) (bool, error) {
			path := req.Param("path")
			if !validKey(path) {
				return false, nil
			}
			_, err := req.Storage.Get(ctx, path)
			if errors.Is(err, storage.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		},
		Synopsis: "Read, write, delete and list secrets.",
		Description: `A write stores the request body as the secret, replacing what was there.
LIST accepts recursive=true, after and limit.`,
	}}
}

func (b *Backend) readV1(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	path := req.Param("path")
	if !validKey(path) {
		return nil, logical.ErrUnsupportedPath
	}
	var data map[string]any
	ok, err := loadJSON(ctx, req.Storage, path, &data)
	if err != nil || !ok {
		return nil, notFoundOr(err)
	}
	if data == nil {
		data = map[string]any{}
	}
	// Vault tells the reader when to read again: the secret's own "ttl"
	// (or legacy "lease") field, else the mount's default lease TTL.
	ttl := b.defaultTTL
	for _, key := range []string{"ttl", "lease"} {
		if v, ok := data[key]; ok {
			if d, err := parse.NonNegativeDuration(v); err == nil {
				ttl = d
				break
			}
		}
	}
	return &logical.Response{Data: data, Secret: &logical.Secret{TTL: ttl, NoLease: true}}, nil
}

func (b *Backend) writeV1(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	path := req.Param("path")
	if !validKey(path) {
		return nil, logical.ErrUnsupportedPath
	}
	if len(req.Data) == 0 {
		return nil, logical.InvalidRequest("missing data fields")
	}
	raw, err := json.Marshal(req.Data)
	if err != nil {
		return nil, logical.InvalidRequest("failed to encode data")
	}
	if err := req.Storage.Put(ctx, &storage.Entry{Key: path, Value: raw}); err != nil {
		return nil, fmt.Errorf("write secret: %w", err)
	}
	return nil, nil
}

func (b *Backend) deleteV1(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	path := req.Param("path")
	if !validKey(path) {
		return nil, logical.ErrUnsupportedPath
	}
	if err := req.Storage.Delete(ctx, path); err != nil {
		return nil, fmt.Errorf("delete secret: %w", err)
	}
	return nil, nil
}

func (b *Backend) listV1(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in listIn
	// The catch-all path declares no fields (any name may be a secret's
	// key), so the list parameters are decoded here.
	if _, err := framework.Decode(listFields, req.Data, &in); err != nil {
		return nil, err
	}
	in.Prefix = req.Param("path")
	if !validPrefix(in.Prefix) {
		return nil, logical.ErrUnsupportedPath
	}
	return list(ctx, req.Storage, "", in)
}
