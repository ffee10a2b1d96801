package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/lease"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/token"
)

// leasePrefix is where the expiration manager keeps leases, behind the
// barrier.
const leasePrefix = "sys/expire/"

func (c *Core) openLeases(ctx context.Context) error {
	m, err := lease.Open(ctx, storage.NewView(c.barrier, leasePrefix), lease.Options{
		Logger: c.logger.With("component", "expiration"),
		Revoke: c.revokeLease,
		Renew:  c.renewLease,
	})
	if err != nil {
		return fmt.Errorf("open leases: %w", err)
	}
	c.leases = m
	return nil
}

// leaseBackend finds the mount that issued l, with a request for it.
func (c *Core) leaseBackend(l *lease.Lease) (*mount.Entry, *logical.Request, *logical.Secret, map[string]any, error) {
	entry, rel, ok := c.mounts.Match(l.Path)
	if !ok {
		return nil, nil, nil, nil, fmt.Errorf("no mount for lease path %q", l.Path)
	}
	req := &logical.Request{
		Operation: logical.DeleteOperation, Path: rel, Storage: entry.View,
		MountPoint: entry.Path, MountType: entry.Type, MountAccessor: entry.Accessor,
	}
	secret := &logical.Secret{LeaseID: l.ID, TTL: l.TTL, MaxTTL: l.MaxTTL, Renewable: l.Renewable, InternalData: l.InternalData}
	var data map[string]any
	if len(l.Data) > 0 {
		if err := json.Unmarshal(l.Data, &data); err != nil {
			return nil, nil, nil, nil, fmt.Errorf("decode lease data: %w", err)
		}
	}
	return entry, req, secret, data, nil
}

// revokeLease asks the issuing engine to revoke a secret. Engines that
// keep nothing to revoke (no SecretRevoker) succeed at once.
func (c *Core) revokeLease(ctx context.Context, l *lease.Lease) error {
	entry, req, secret, data, err := c.leaseBackend(l)
	if err != nil {
		return err
	}
	if r, ok := entry.Backend.(logical.SecretRevoker); ok {
		return r.RevokeSecret(ctx, req, secret, data)
	}
	return nil
}

func (c *Core) renewLease(ctx context.Context, l *lease.Lease, increment time.Duration) (time.Duration, error) {
	entry, req, secret, _, err := c.leaseBackend(l)
	if err != nil {
		return 0, err
	}
	if r, ok := entry.Backend.(logical.SecretRenewer); ok {
		req.Operation = logical.UpdateOperation
		return r.RenewSecret(ctx, req, secret, increment)
	}
	if increment <= 0 {
		increment = l.TTL
	}
	return increment, nil
}

// registerLease gives a response's secret a lease, capping its TTL by the
// mount's (or the system's) maximum.
func (c *Core) registerLease(ctx context.Context, entry *mount.Entry, path string, te *token.Entry, resp *logical.Response) error {
	s := resp.Secret
	maxTTL := c.ttl(entry.Config.MaxLeaseTTL, c.cfg.MaxLeaseTTL)
	ttl := s.TTL
	if ttl <= 0 {
		ttl = c.ttl(entry.Config.DefaultLeaseTTL, c.cfg.DefaultLeaseTTL)
	}
	if s.MaxTTL > 0 && s.MaxTTL < maxTTL {
		maxTTL = s.MaxTTL
	}
	if maxTTL > 0 && ttl > maxTTL {
		ttl = maxTTL
	}
	data, err := json.Marshal(resp.Data)
	if err != nil {
		return fmt.Errorf("encode lease data: %w", err)
	}
	l := &lease.Lease{
		Path: path, MountAccessor: entry.Accessor, TTL: ttl, MaxTTL: maxTTL,
		Renewable: s.Renewable, InternalData: s.InternalData, Data: data,
	}
	if te != nil {
		l.TokenAccessor = te.Accessor
	}
	id, err := c.leases.Register(ctx, l)
	if err != nil {
		return fmt.Errorf("register lease: %w", err)
	}
	s.LeaseID, s.TTL = id, ttl
	return nil
}

// Leases returns the expiration manager (nil while sealed).
func (c *Core) Leases() *lease.Manager { return c.leases }

// leaseError maps the manager's errors to client-visible ones.
func leaseError(err error) error {
	switch {
	case errors.Is(err, lease.ErrNotFound):
		return logical.InvalidRequest("invalid lease")
	case errors.Is(err, lease.ErrNotRenewable):
		return logical.InvalidRequest("lease is not renewable")
	case errors.Is(err, lease.ErrInvalid):
		return logical.InvalidRequest("%s", err.Error())
	}
	return err
}

// LeaseLookup, LeaseRenew, LeaseRevoke and LeaseRevokePrefix serve the
// sys/leases endpoints.
func (c *Core) LeaseLookup(ctx context.Context, id string) (*lease.Lease, error) {
	l, err := c.leases.Lookup(ctx, id)
	if errors.Is(err, lease.ErrNotFound) && strings.HasPrefix(id, "auth/") {
		if e, terr := c.tokens.LookupLease(ctx, id); terr == nil {
			return tokenLease(id, e), nil
		}
	}
	return l, leaseError(err)
}

// tokenLease shows a token as the lease Vault keeps for it.
func tokenLease(id string, e *token.Entry) *lease.Lease {
	return &lease.Lease{
		ID: id, Path: strings.TrimSuffix(id[:strings.LastIndexByte(id, '/')+1], "/"),
		IssueTime: e.CreationTime, ExpireTime: e.ExpireTime, LastRenewalTime: e.LastRenewalTime,
		TTL: e.TTL, Renewable: e.Renewable,
	}
}

// LeaseList lists lease IDs one level below prefix, as LIST
// sys/leases/lookup/<prefix> does: the secrets' leases and, below "auth/",
// tokens by the path that created them ("auth/token/create/<hmac>"), as
// Vault lists its token leases.
func (c *Core) LeaseList(ctx context.Context, prefix string) ([]string, error) {
	keys, err := c.leases.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	if prefix == "" || strings.HasPrefix(prefix, "auth") {
		more, err := c.tokens.ListLeases(ctx, prefix)
		if err != nil {
			return nil, err
		}
		keys = append(keys, more...)
		slices.Sort(keys)
		keys = slices.Compact(keys)
	}
	return keys, nil
}

func (c *Core) LeaseRenew(ctx context.Context, id string, increment time.Duration) (*lease.Lease, error) {
	l, err := c.leases.Renew(ctx, id, increment)
	return l, leaseError(err)
}

func (c *Core) LeaseRevoke(ctx context.Context, id string) error {
	if strings.HasPrefix(id, "auth/") {
		if _, err := c.leases.Lookup(ctx, id); errors.Is(err, lease.ErrNotFound) {
			return c.tokens.RevokeLease(ctx, id)
		}
	}
	return leaseError(c.leases.Revoke(ctx, id))
}

// Tokens count as leases of the auth path they came from, as in Vault:
// revoking "auth/userpass/" revokes every token logged in through it.
func (c *Core) LeaseRevokePrefix(ctx context.Context, prefix string, force bool) error {
	if err := c.leases.RevokePrefix(ctx, prefix, force); err != nil {
		return leaseError(err)
	}
	if strings.HasPrefix(prefix, "auth/") {
		return c.tokens.RevokeByPathPrefix(ctx, prefix)
	}
	return nil
}
