package sys

import (
	"context"
	"strings"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/parse"
	"github.com/tresorhq/tresor/internal/storage"
)

// MountUpdater runs a transaction over the storage of several mounts.
type MountUpdater interface {
	UpdateMounts(ctx context.Context, paths []string, fn func(txs []storage.Tx, entries []*mount.Entry, rels []string) error) error
}

// secretMover is a backend that can move its secrets, with their history,
// to another mount of its kind inside one storage transaction (KV).
type secretMover interface {
	MoveSecretTo(ctx context.Context, src storage.Tx, srcPath string, to logical.Backend, dst storage.Tx, dstPath string, copy bool) error
	// PolicyPath is the path below the mount a policy names for rel.
	PolicyPath(rel string) string
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
	copyOnly := false
	if v, ok := req.Data["copy"]; ok {
		b, err := parse.Bool(v)
		if err != nil {
			return nil, logical.InvalidRequest("invalid value for copy: %s", err.Error())
		}
		copyOnly = b
	}
	err := b.core.UpdateMounts(ctx, []string{from, to}, func(txs []storage.Tx, entries []*mount.Entry, rels []string) error {
		movers := make([]secretMover, len(entries))
		for i, e := range entries {
			m, ok := e.Backend.(secretMover)
			if !ok {
				return logical.InvalidRequest("%s is not a KV mount", e.Path)
			}
			movers[i] = m
		}
		if req.Token != nil && !req.Token.Root {
			acl, err := b.core.TokenACL(ctx, req.ClientToken)
			if err != nil {
				return err
			}
			src, dst := entries[0].Path+movers[0].PolicyPath(rels[0]), entries[1].Path+movers[1].PolicyPath(rels[1])
			if !acl.Allowed(logical.ReadOperation, src, nil, 0).Allowed ||
				(!copyOnly && !acl.Allowed(logical.DeleteOperation, src, nil, 0).Allowed) ||
				!acl.Allowed(logical.CreateOperation, dst, nil, 0).Allowed {
				return logical.ErrPermissionDenied
			}
		}
		return movers[0].MoveSecretTo(ctx, txs[0], rels[0], entries[1].Backend, txs[1], rels[1], copyOnly)
	})
	return nil, err
}
