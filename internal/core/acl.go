package core

import (
	"context"
	"errors"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/policy"
	"github.com/tresorhq/tresor/internal/token"
)

// policyPrefix is where ACL policies are stored, behind the barrier.
const policyPrefix = "sys/policy/"

// authorize decides whether te may perform op on path with data. Paths a
// backend marks as root-protected also need the sudo capability.
func (c *Core) authorize(ctx context.Context, te *token.Entry, path string, op logical.Operation, data map[string]any, wrapTTL time.Duration, sudo bool) error {
	acl, err := c.aclFor(ctx, te)
	if err != nil {
		return err
	}
	d := acl.Allowed(op, path, data, wrapTTL)
	if !d.Allowed || (sudo && !d.Sudo && !d.Root) {
		c.logger.Debug("permission denied", "path", path, "operation", op, "reason", d.Reason)
		return logical.ErrPermissionDenied
	}
	return nil
}

// PolicyStore returns the ACL policy store (nil while sealed).
func (c *Core) PolicyStore() *policy.Store { return c.policies }

// TokenACL compiles the ACL of a token ID.
func (c *Core) TokenACL(ctx context.Context, id string) (*policy.ACL, error) {
	te, err := c.tokens.Lookup(ctx, id)
	if errors.Is(err, token.ErrNotFound) {
		return nil, logical.ErrPermissionDenied
	}
	if err != nil {
		return nil, err
	}
	return c.aclFor(ctx, te)
}

// TokenPolicies returns the policy names of a token ID, for
// sys/policy/explain.
func (c *Core) TokenPolicies(ctx context.Context, id string) ([]string, error) {
	te, err := c.tokens.Lookup(ctx, id)
	if errors.Is(err, token.ErrNotFound) {
		return nil, logical.ErrPermissionDenied
	}
	if err != nil {
		return nil, err
	}
	return te.Policies, nil
}

// AccessorACL compiles the ACL of the token with that accessor.
func (c *Core) AccessorACL(ctx context.Context, accessor string) (*policy.ACL, error) {
	te, err := c.tokens.LookupAccessor(ctx, accessor)
	if errors.Is(err, token.ErrNotFound) {
		return nil, logical.InvalidRequest("invalid accessor")
	}
	if err != nil {
		return nil, err
	}
	return c.aclFor(ctx, te)
}

// hasSudo reports whether the caller of req holds sudo on the request's
// full path (the token store asks before privileged token operations).
func (c *Core) hasSudo(ctx context.Context, req *logical.Request) bool {
	acl, err := c.TokenACL(ctx, req.ClientToken)
	if err != nil {
		return false
	}
	d := acl.Allowed(req.Operation, req.MountPoint+req.Path, nil, 0)
	return d.Root || d.Sudo
}
