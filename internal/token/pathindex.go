package token

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/storage"
)

// The path index lists tokens by the path that created them, as Vault's
// expiration manager lists a token's lease: "auth/token/create/<hmac>",
// "auth/approle/login/<hmac>". It keeps one empty entry per token under
// "path/<creation path>/<token key>", written and removed in the same
// transactions as the token. Tokens that never expire (root) have no lease
// in Vault and no entry here; tokens created before the index existed are
// not listed.
const pathPrefix = "path/"

// pathKey is e's path index key under k, or "" for a token not indexed.
func pathKey(e *Entry, k key) string {
	p := strings.Trim(e.Path, "/")
	if p == "" || strings.Contains(p, "//") || (e.ExpireTime.IsZero() && e.Period == 0) {
		return ""
	}
	return pathPrefix + p + "/" + k.String()
}

func putPath(ctx context.Context, tx storage.Writer, e *Entry, k key) error {
	if pk := pathKey(e, k); pk != "" {
		return tx.Put(ctx, &storage.Entry{Key: pk, Value: []byte{}})
	}
	return nil
}

func deletePath(ctx context.Context, tx storage.Writer, e *Entry, k key) error {
	if pk := pathKey(e, k); pk != "" {
		return tx.Delete(ctx, pk)
	}
	return nil
}

// ListLeases returns the names one level below prefix among token lease
// IDs ("<creation path>/<token key>"), folders with a trailing "/", as
// LIST sys/leases/lookup/<prefix> shows them.
func (s *Store) ListLeases(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	names, err := s.store.List(ctx, pathPrefix+prefix)
	if err != nil {
		return nil, fmt.Errorf("list token leases: %w", err)
	}
	return names, nil
}

// LookupLease returns the token whose lease ID is id ("<creation
// path>/<token key>"), or ErrNotFound.
func (s *Store) LookupLease(ctx context.Context, id string) (*Entry, error) {
	i := strings.LastIndexByte(id, '/')
	if i < 0 {
		return nil, ErrNotFound
	}
	k, ok := parseKey(id[i+1:])
	if !ok {
		return nil, ErrNotFound
	}
	e, err := s.entry(ctx, k)
	if err != nil {
		return nil, err
	}
	if pathKey(e, k) != pathPrefix+id {
		return nil, ErrNotFound
	}
	return e.clone(), nil
}

// RevokeLease revokes the token whose lease ID is id, with its children.
// An unknown ID is not an error.
func (s *Store) RevokeLease(ctx context.Context, id string) error {
	i := strings.LastIndexByte(id, '/')
	k, ok := parseKey(id[i+1:])
	if i < 0 || !ok {
		return nil
	}
	if _, err := s.LookupLease(ctx, id); errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if err := s.revokeTree(ctx, k); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}
