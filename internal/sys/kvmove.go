package sys

import (
	"context"
	"strings"

	"github.com/tresorhq/tresor/internal/engine/kv"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/storage"
)

// MountUpdater runs a transaction over the storage of several mounts.
type MountUpdater interface {
	UpdateMounts(ctx context.Context, paths []string, fn func(txs []storage.Tx, entries []*mount.Entry, rels []string) error) error
}

// kvMove answers sys/kv/move (beyond Vault): move or copy a KV secret with
// its whole history, atomically, within a mount or across KV mounts.
// {"from": "secret/app", "to": "archive/app", "copy": false}. The caller
// needs sudo on sys/kv/move and, unless root, read on the source and
// create on the destination.
func (b *Backend) kvMove(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	if req.Operation != logical.UpdateOperation {
		return nil, logical.ErrUnsupportedOperation
	}
	from, _ := req.Data["from"].(string)
	to, _ := req.Data["to"].(string)
	from, to = strings.Trim(from, "/"), strings.Trim(to, "/")
	if from == "" || to == "" {
		return nil, logical.InvalidRequest("both 'from' and 'to' must be given")
	}
	copyOnly := isTrue(req.Data["copy"])
	err := b.core.UpdateMounts(ctx, []string{from, to}, func(txs []storage.Tx, entries []*mount.Entry, rels []string) error {
		for _, e := range entries {
			if e.Type != "kv" {
				return logical.InvalidRequest("%s is not a KV mount", e.Path)
			}
		}
		sv, dv := kvVersion(entries[0]), kvVersion(entries[1])
		if req.Token != nil && !req.Token.Root {
			acl, err := b.core.TokenACL(ctx, req.ClientToken)
			if err != nil {
				return err
			}
			src, dst := kvPath(entries[0], sv, rels[0]), kvPath(entries[1], dv, rels[1])
			if !acl.Allowed(logical.ReadOperation, src, nil, 0).Allowed ||
				(!copyOnly && !acl.Allowed(logical.DeleteOperation, src, nil, 0).Allowed) ||
				!acl.Allowed(logical.CreateOperation, dst, nil, 0).Allowed {
				return logical.ErrPermissionDenied
			}
		}
		return kv.MoveSecret(ctx, txs[0], sv, rels[0], txs[1], dv, rels[1], copyOnly)
	})
	return nil, err
}

func kvVersion(e *mount.Entry) int {
	if e.Options["version"] == "2" {
		return 2
	}
	return 1
}

// kvPath is the API path a policy names for a secret.
func kvPath(e *mount.Entry, version int, rel string) string {
	if version == 2 {
		return e.Path + "data/" + rel
	}
	return e.Path + rel
}

func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true" || x == "1"
	}
	return false
}
