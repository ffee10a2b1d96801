package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/token"
)

// Response wrapping: instead of the data, a caller gets a single-use token
// whose TTL is the wrap TTL; unwrapping it once returns the data. The
// wrapped response is stored behind the barrier under the wrapping token's
// accessor and dies with the token (revocation or expiry).

const (
	wrapPrefix = "sys/wrapping/"
	// wrapPolicy marks wrapping tokens; it grants nothing by itself.
	wrapPolicy = "response-wrapping"
)

// errBadWrapToken is Vault's answer for a used, expired or unknown token.
var errBadWrapToken = logical.InvalidRequest("wrapping token is not valid or does not exist")

// wrapped is a response as stored for a later unwrap.
type wrapped struct {
	Data          map[string]any `json:"data,omitempty"`
	Auth          *logical.Auth  `json:"auth,omitempty"`
	LeaseID       string         `json:"lease_id,omitempty"`
	LeaseDuration time.Duration  `json:"lease_duration,omitempty"`
	Renewable     bool           `json:"renewable,omitempty"`
	Warnings      []string       `json:"warnings,omitempty"`
	CreationPath  string         `json:"creation_path"`
}

func (c *Core) wrapView() storage.Store { return storage.NewView(c.barrier, wrapPrefix) }

// wrap replaces resp by a wrapping token holding it.
func (c *Core) wrap(ctx context.Context, resp *logical.Response, ttl time.Duration, path string) (*logical.Response, error) {
	w := wrapped{Data: resp.Data, Auth: resp.Auth, Warnings: resp.Warnings, CreationPath: path}
	if s := resp.Secret; s != nil {
		w.LeaseID, w.LeaseDuration, w.Renewable = s.LeaseID, s.TTL, s.Renewable
	}
	raw, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode wrapped response: %w", err)
	}
	te, err := c.tokens.Create(ctx, &token.Entry{
		Policies:    []string{wrapPolicy},
		DisplayName: "response-wrapping",
		Path:        path,
		TTL:         ttl,
		NumUses:     1,
		Orphan:      true,
		Type:        token.TypeService,
	})
	if err != nil {
		return nil, fmt.Errorf("create wrapping token: %w", err)
	}
	if err := c.wrapView().Put(ctx, &storage.Entry{Key: te.Accessor, Value: raw}); err != nil {
		_ = c.tokens.Revoke(ctx, te.ID)
		return nil, fmt.Errorf("store wrapped response: %w", err)
	}
	info := &logical.WrapInfo{
		Token:        te.ID,
		Accessor:     te.Accessor,
		TTL:          int(ttl / time.Second),
		CreationTime: te.CreationTime,
		CreationPath: path,
	}
	if resp.Auth != nil {
		info.WrappedAccessor = resp.Auth.Accessor
	} else {
		info.WrappedAccessor = resp.WrappedAccessor
	}
	return &logical.Response{WrapInfo: info}, nil
}

// wrappingToken resolves a wrapping token, or errBadWrapToken.
func (c *Core) wrappingToken(ctx context.Context, id string) (*token.Entry, error) {
	te, err := c.tokens.Lookup(ctx, id)
	if errors.Is(err, token.ErrNotFound) || (err == nil && (len(te.Policies) != 1 || te.Policies[0] != wrapPolicy)) {
		return nil, errBadWrapToken
	}
	return te, err
}

// Unwrap returns the response wrapped in the token id, once: the stored
// response is taken in one storage transaction, so of two concurrent
// unwraps exactly one gets it.
func (c *Core) Unwrap(ctx context.Context, id string) (*logical.Response, error) {
	te, err := c.wrappingToken(ctx, id)
	if err != nil {
		return nil, err
	}
	var raw []byte
	err = c.wrapView().Update(ctx, func(tx storage.Tx) error {
		e, err := tx.Get(ctx, te.Accessor)
		if errors.Is(err, storage.ErrNotFound) {
			return errBadWrapToken
		}
		if err != nil {
			return err
		}
		raw = e.Value
		return tx.Delete(ctx, te.Accessor)
	})
	if err != nil {
		return nil, err
	}
	if err := c.tokens.Revoke(ctx, id); err != nil {
		c.logger.Error("revoking a used wrapping token", "error", err)
	}
	var w wrapped
	if err := json.Unmarshal(raw, &w); err != nil {
		return nil, fmt.Errorf("decode wrapped response: %w", err)
	}
	resp := &logical.Response{Data: w.Data, Auth: w.Auth, Warnings: w.Warnings}
	if w.LeaseID != "" || w.LeaseDuration > 0 {
		resp.Secret = &logical.Secret{LeaseID: w.LeaseID, TTL: w.LeaseDuration, Renewable: w.Renewable, NoLease: w.LeaseID == ""}
	}
	if resp.Data == nil && resp.Auth == nil {
		resp.Data = map[string]any{}
	}
	return resp, nil
}

// WrapLookup describes a wrapping token without using it.
func (c *Core) WrapLookup(ctx context.Context, id string) (*logical.Response, error) {
	te, err := c.wrappingToken(ctx, id)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"creation_path": te.Path,
		"creation_time": te.CreationTime.UTC().Format(time.RFC3339Nano),
		"creation_ttl":  int64(te.TTL / time.Second),
	}}, nil
}

// Rewrap moves a wrapped response to a fresh wrapping token with the same
// TTL, invalidating the old one.
func (c *Core) Rewrap(ctx context.Context, id string) (*logical.Response, error) {
	te, err := c.wrappingToken(ctx, id)
	if err != nil {
		return nil, err
	}
	resp, err := c.Unwrap(ctx, id)
	if err != nil {
		return nil, err
	}
	return c.wrap(ctx, resp, te.TTL, te.Path)
}

// Wrap wraps arbitrary data (sys/wrapping/wrap) for ttl, which the caller
// asked for with X-Vault-Wrap-TTL.
func (c *Core) Wrap(ctx context.Context, data map[string]any, ttl time.Duration) (*logical.Response, error) {
	if ttl <= 0 {
		return nil, logical.InvalidRequest("endpoint requires response wrapping to be used")
	}
	return c.wrap(ctx, &logical.Response{Data: data}, ttl, "sys/wrapping/wrap")
}

// dropWrapped deletes what a revoked wrapping token held.
func (c *Core) dropWrapped(ctx context.Context, e *token.Entry) error {
	if len(e.Policies) != 1 || e.Policies[0] != wrapPolicy {
		return nil
	}
	return c.wrapView().Delete(ctx, e.Accessor)
}
