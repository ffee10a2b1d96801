package sys

import (
	"context"
	"fmt"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/policy"
)

// The UI's mount listings answer without a token, so they must show each
// caller no more than it may know, as Vault does:
//
//   - without a (valid) token, only mounts tuned listing_visibility=unauth,
//     and of those only type, description and options;
//   - with a token, mounts tuned unauth and every mount on which the token's
//     policies grant some capability, in full;
//   - sys/internal/ui/mounts/<path> needs a token that reaches the mount.

// visibleUnauth is Vault's listing_visibility value that shows a mount to
// unauthenticated callers.
const visibleUnauth = "unauth"

// callerACL is the ACL of req's caller, or nil when it has no valid token.
func (b *Backend) callerACL(ctx context.Context, req *logical.Request) (*policy.ACL, error) {
	if req.Token == nil || req.ClientToken == "" {
		return nil, nil
	}
	acl, err := b.core.TokenACL(ctx, req.ClientToken)
	if e, ok := logical.AsError(err); ok && e.Kind == logical.KindPermissionDenied {
		return nil, nil
	}
	return acl, err
}

// uiMounts answers sys/internal/ui/mounts.
func (b *Backend) uiMounts(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	acl, err := b.callerACL(ctx, req)
	if err != nil {
		return nil, err
	}
	secret, auth := map[string]any{}, map[string]any{}
	for _, e := range b.core.Mounts() {
		var out map[string]any
		switch {
		case acl != nil && (e.Config.ListingVisibility == visibleUnauth || acl.HasMountAccess(e.Path)):
			out = mountOutput(e)
		case acl == nil && e.Config.ListingVisibility == visibleUnauth:
			out = map[string]any{"type": e.Type, "description": e.Description, "options": optionsOutput(e)}
		default:
			continue
		}
		if rest, ok := strings.CutPrefix(e.Path, "auth/"); ok {
			auth[rest] = out
		} else {
			secret[e.Path] = out
		}
	}
	return &logical.Response{Data: map[string]any{"secret": secret, "auth": auth}}, nil
}

// uiMount answers sys/internal/ui/mounts/<path>: the mount owning path. The
// vault CLI asks it to learn a KV mount's version before every kv command.
func (b *Backend) uiMount(ctx context.Context, req *logical.Request, path string) (*logical.Response, error) {
	denied := &logical.Error{Kind: logical.KindPermissionDenied, Messages: []string{
		fmt.Sprintf("preflight capability check returned 403, please ensure client's policies grant access to path %q", path)}}
	acl, err := b.callerACL(ctx, req)
	if err != nil {
		return nil, err
	}
	if acl == nil {
		return nil, logical.ErrPermissionDenied
	}
	var best *mount.Entry
	for _, e := range b.core.Mounts() {
		if strings.HasPrefix(path, e.Path) || path+"/" == e.Path {
			if best == nil || len(e.Path) > len(best.Path) {
				best = e
			}
		}
	}
	if best == nil || !acl.HasMountAccess(best.Path) {
		return nil, denied
	}
	out := mountOutput(best)
	out["path"] = strings.TrimPrefix(best.Path, "auth/")
	return &logical.Response{Data: out}, nil
}
