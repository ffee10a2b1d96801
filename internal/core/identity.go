package core

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/tresorhq/tresor/internal/identity"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/policy"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/token"
)

// The identity store: its mount and where it keeps its objects.
const (
	typeIdentity   = "identity"
	identityPrefix = "sys/identity/"
)

// openIdentity loads the identity store. Called with state held for
// writing, before the mounts are set up (the identity/ mount serves it).
func (c *Core) openIdentity(ctx context.Context) error {
	var err error
	c.identity, err = identity.Open(ctx, storage.NewView(c.barrier, identityPrefix), identity.Options{
		Logger:          c.logger.With("component", "identity"),
		MountByAccessor: c.authMountByAccessor,
	})
	return err
}

// authMountByAccessor finds an auth mount by accessor, for aliases. It
// runs inside requests, with state held.
func (c *Core) authMountByAccessor(accessor string) (identity.Mount, bool) {
	if c.mounts == nil {
		return identity.Mount{}, false
	}
	e, ok := c.mounts.ByAccessor(accessor)
	if !ok || !strings.HasPrefix(e.Path, "auth/") {
		return identity.Mount{}, false
	}
	return identity.Mount{Path: e.Path, Type: e.Type}, true
}

// identityMount is the mount entry of the identity store, added to mount
// tables that predate it.
func identityMount(entries []*mount.Entry) []*mount.Entry {
	for _, e := range entries {
		if e.Type == typeIdentity {
			return entries
		}
	}
	return append(entries, &mount.Entry{Path: "identity/", Type: typeIdentity, Description: "identity store", Builtin: true})
}

// entityOf resolves a token's identity entity; nil when it has none or
// the entity is gone. A disabled entity's tokens are refused.
func (c *Core) entityOf(te *token.Entry) (*identity.Resolved, error) {
	if te == nil || te.EntityID == "" || c.identity == nil {
		return nil, nil
	}
	r, ok := c.identity.Resolve(te.EntityID)
	if !ok {
		return nil, nil
	}
	if r.Disabled {
		return nil, logical.ErrPermissionDenied
	}
	return r, nil
}

// aclFor compiles the ACL of a token: its own policies with its entity's
// identity policies, resolved now (so a change to a group applies to
// existing tokens at their next request), templates rendered for the
// entity.
func (c *Core) aclFor(ctx context.Context, te *token.Entry) (*policy.ACL, error) {
	r, err := c.entityOf(te)
	if err != nil {
		return nil, err
	}
	if r == nil {
		// Templated rules are dropped for a caller without an entity.
		return c.policies.ACL(ctx, te.Policies)
	}
	names := te.Policies
	if len(r.Policies) > 0 {
		names = slices.Concat(te.Policies, r.Policies)
	}
	return c.policies.EntityACL(ctx, names, r.Template)
}

// loginIdentity ties a login to its entity: found or created from the
// auth method's alias on the mount. The entity's ID goes into the token.
func (c *Core) loginIdentity(ctx context.Context, entry *mount.Entry, a *logical.Auth) error {
	if c.identity == nil || a.Alias == "" {
		return nil
	}
	id, err := c.identity.Login(ctx, identity.LoginInput{
		MountAccessor: entry.Accessor,
		Alias:         a.Alias,
		AliasMetadata: a.AliasMetadata,
		GroupAliases:  a.GroupAliases,
	})
	if errors.Is(err, identity.ErrDisabled) {
		return logical.ErrPermissionDenied
	}
	if err != nil {
		return err
	}
	a.EntityID = id
	return nil
}

// identityPolicies fills in a login's identity_policies and adds them to
// its policies, as Vault's login answer shows them.
func (c *Core) identityPolicies(a *logical.Auth) {
	if c.identity == nil || a.EntityID == "" {
		return
	}
	if p := c.identity.Policies(a.EntityID); len(p) > 0 {
		a.IdentityPolicies = p
		all := slices.Concat(a.TokenPolicies, p)
		slices.Sort(all)
		a.Policies = slices.Compact(all)
	}
}

// identityPoliciesOf is the token store's hook for lookups.
func (c *Core) identityPoliciesOf(entityID string) []string {
	if c.identity == nil {
		return nil
	}
	return c.identity.Policies(entityID)
}
