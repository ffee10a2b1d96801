package approle

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

func (b *Backend) pathTidy() *framework.Path {
	return &framework.Path{
		Pattern: "tidy/secret-id",
		Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: b.tidy,
			logical.CreateOperation: b.tidy,
		},
		Synopsis: "Remove expired secret IDs and dangling accessors.",
	}
}

// tidy removes expired secret IDs, secret IDs of deleted roles and
// accessors whose secret ID is gone. It runs to completion before
// answering; Vault answers 202 and so do we.
func (b *Backend) tidy(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	key, err := b.hmacKey(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	roles, err := req.Storage.List(ctx, secretIDPrefix)
	if err != nil {
		return nil, fmt.Errorf("tidy: list secret IDs: %w", err)
	}
	for _, dir := range roles {
		name := strings.TrimSuffix(dir, "/")
		keys, err := secretIDsOf(ctx, req.Storage, name)
		if err != nil {
			return nil, fmt.Errorf("tidy: %w", err)
		}
		for _, k := range keys {
			err := req.Storage.Update(ctx, func(tx storage.Tx) error {
				var s secretID
				ok, err := getJSON(ctx, tx, k, &s)
				if err != nil || !ok {
					return err
				}
				ro, err := loadRole(ctx, tx, name)
				if err != nil {
					return err
				}
				if ro != nil && !s.expired(b.now()) {
					return nil
				}
				return deleteSecretID(ctx, tx, k, mac(key, s.Accessor))
			})
			if err != nil {
				return nil, fmt.Errorf("tidy: %w", err)
			}
		}
	}
	accessors, err := req.Storage.List(ctx, accessorPrefix)
	if err != nil {
		return nil, fmt.Errorf("tidy: list accessors: %w", err)
	}
	for _, a := range accessors {
		err := req.Storage.Update(ctx, func(tx storage.Tx) error {
			var acc accessorEntry
			ok, err := getJSON(ctx, tx, accessorPrefix+a, &acc)
			if err != nil || !ok {
				return err
			}
			if _, err := tx.Get(ctx, secretKey(acc.Role, acc.SecretIDHMAC)); err == nil {
				return nil
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			return deleteKey(ctx, tx, accessorPrefix+a)
		})
		if err != nil {
			return nil, fmt.Errorf("tidy: %w", err)
		}
	}
	return &logical.Response{
		StatusCode: http.StatusAccepted,
		Warnings:   []string{"Tidy of secret IDs completed."},
	}, nil
}
