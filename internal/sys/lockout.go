package sys

import (
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
)

// locker is an auth backend with a user lockout (userpass).
type locker interface {
	LockedAliases() []string
	Unlock(alias string)
}

// lockedUsers answers GET sys/locked-users in Vault's shape.
func (b *Backend) lockedUsers(req *logical.Request) (*logical.Response, error) {
	if req.Operation != logical.ReadOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	total := 0
	var accessors []any
	for _, e := range b.core.Mounts() {
		l, ok := e.Backend.(locker)
		if !ok {
			continue
		}
		names := l.LockedAliases()
		if len(names) == 0 {
			continue
		}
		total += len(names)
		accessors = append(accessors, map[string]any{
			"mount_accessor":    e.Accessor,
			"counts":            len(names),
			"alias_identifiers": names,
		})
	}
	byNS := []any{}
	if total > 0 {
		byNS = append(byNS, map[string]any{
			"namespace_id": "root", "namespace_path": "", "counts": total, "mount_accessors": accessors,
		})
	}
	return &logical.Response{Data: map[string]any{"by_namespace": byNS, "total": total}}, nil
}

// unlockUser answers POST sys/locked-users/<mount accessor>/unlock/<alias>.
func (b *Backend) unlockUser(req *logical.Request, rest string) (*logical.Response, error) {
	if req.Operation != logical.UpdateOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	accessor, alias, ok := strings.Cut(rest, "/unlock/")
	if !ok || accessor == "" || alias == "" {
		return nil, logical.ErrUnsupportedPath
	}
	for _, e := range b.core.Mounts() {
		if e.Accessor != accessor {
			continue
		}
		if l, ok := e.Backend.(locker); ok {
			l.Unlock(alias)
			return nil, nil
		}
	}
	return nil, logical.InvalidRequest("no auth mount with lockout has accessor %q", accessor)
}
