package kv

import (
	"context"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// versionsFields is the body of delete/, undelete/ and destroy/.
var versionsFields = map[string]*framework.Field{
	"versions": {Type: framework.TypeIntSlice, Description: "The versions to act on."},
}

type versionsIn struct {
	Path     string `field:"path"`
	Versions []int  `field:"versions"`
}

// versionChange changes one version's info; it reports whether it changed
// anything and may delete the version's data through tx.
type versionChange func(ctx context.Context, tx storage.Tx, path string, n int, v *versionInfo, now time.Time) (bool, error)

func (b *Backend) pathVersions() []*framework.Path {
	mk := func(verb, synopsis string, change versionChange) *framework.Path {
		h := b.changeVersions(change)
		return &framework.Path{
			Pattern:    verb + "/{path...}",
			Fields:     versionsFields,
			Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: h, logical.CreateOperation: h},
			Synopsis:   synopsis,
		}
	}
	return []*framework.Path{
		mk("delete", "Soft-delete versions of a secret; undelete restores them.", softDelete),
		mk("undelete", "Restore soft-deleted versions of a secret.", undelete),
		mk("destroy", "Permanently remove the data of versions of a secret.", destroy),
	}
}

func (b *Backend) changeVersions(change versionChange) framework.Handler {
	return func(ctx context.Context, req *framework.Request) (*logical.Response, error) {
		var in versionsIn
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		if !validKey(in.Path) {
			return nil, logical.ErrUnsupportedPath
		}
		if len(in.Versions) == 0 {
			return nil, logical.InvalidRequest("no version number provided")
		}
		now := b.now().UTC()
		return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
			meta, err := loadMeta(ctx, tx, in.Path)
			if err != nil || meta == nil {
				return err
			}
			changed := false
			for _, n := range in.Versions {
				v := meta.Versions[n]
				if v == nil {
					continue // Vault ignores versions it does not have
				}
				c, err := change(ctx, tx, in.Path, n, v, now)
				if err != nil {
					return err
				}
				changed = changed || c
			}
			if !changed {
				return nil
			}
			return saveMeta(ctx, tx, in.Path, meta)
		})
	}
}

func softDelete(_ context.Context, _ storage.Tx, _ string, _ int, v *versionInfo, now time.Time) (bool, error) {
	if v.Destroyed || v.deleted(now) {
		return false, nil
	}
	v.Deletion = now
	return true, nil
}

func undelete(_ context.Context, _ storage.Tx, _ string, _ int, v *versionInfo, _ time.Time) (bool, error) {
	if v.Destroyed || v.Deletion.IsZero() {
		return false, nil
	}
	v.Deletion = time.Time{}
	return true, nil
}

func destroy(ctx context.Context, tx storage.Tx, path string, n int, v *versionInfo, _ time.Time) (bool, error) {
	if v.Destroyed {
		return false, nil
	}
	v.Destroyed = true
	return true, tx.Delete(ctx, versionKey(path, n))
}
