package kv

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Vault's limits on custom metadata.
const (
	maxCustomKeys     = 64
	maxCustomKeyLen   = 128
	maxCustomValueLen = 512
)

func (b *Backend) pathMetadata() *framework.Path {
	return &framework.Path{
		Pattern: "metadata/{path...}",
		Fields: map[string]*framework.Field{
			"max_versions":         {Type: framework.TypeInt, Validate: nonNegative, Description: "Versions to keep; 0 uses the mount's setting."},
			"cas_required":         {Type: framework.TypeBool, Description: "Require check-and-set on writes of this key."},
			"delete_version_after": {Type: framework.TypeDuration, Validate: nonNegativeDuration, Description: "Soft-delete versions this long after they are written; 0 never."},
			"custom_metadata":      {Type: framework.TypeMap, Description: "Arbitrary string metadata, not secret."},
			"recursive":            {Type: framework.TypeBool, Description: "LIST: return every key below the prefix."},
			"after":                {Type: framework.TypeString, Description: "LIST: start after this key."},
			"limit":                {Type: framework.TypeInt, Description: "LIST: page size."},
			"filter":               {Type: framework.TypeString, Description: "LIST with recursive: keep the keys matching this glob (* and ?; no wildcard means contains)."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readMetadata,
			logical.ListOperation:   b.listMetadata,
			logical.CreateOperation: b.writeMetadata,
			logical.UpdateOperation: b.writeMetadata,
			logical.PatchOperation:  b.writeMetadata,
			logical.DeleteOperation: b.deleteMetadata,
		},
		ExistenceCheck: metaExists,
		Synopsis:       "Read, list, configure and delete the metadata and all versions of secrets.",
	}
}

type metadataIn struct {
	Path               string         `field:"path"`
	MaxVersions        *int           `field:"max_versions"`
	CASRequired        *bool          `field:"cas_required"`
	DeleteVersionAfter *time.Duration `field:"delete_version_after"`
	Custom             map[string]any `field:"custom_metadata"`
}

func (b *Backend) readMetadata(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	path := req.Param("path")
	if !validKey(path) {
		return nil, logical.ErrUnsupportedPath
	}
	meta, err := loadMeta(ctx, req.Storage, path)
	if err != nil || meta == nil {
		return nil, notFoundOr(err)
	}
	versions := make(map[string]any, len(meta.Versions))
	for n, v := range meta.Versions {
		versions[strconv.Itoa(n)] = map[string]any{
			"created_time":  formatTime(v.Created),
			"deletion_time": formatTime(v.Deletion),
			"destroyed":     v.Destroyed,
		}
	}
	var custom any
	if meta.Custom != nil {
		custom = meta.Custom
	}
	return &logical.Response{Data: map[string]any{
		"cas_required":         meta.CASRequired,
		"created_time":         formatTime(meta.Created),
		"current_version":      meta.Current,
		"custom_metadata":      custom,
		"delete_version_after": meta.DeleteVersionAfter.String(),
		"max_versions":         meta.MaxVersions,
		"oldest_version":       meta.Oldest,
		"updated_time":         formatTime(meta.Updated),
		"versions":             versions,
	}}, nil
}

func (b *Backend) listMetadata(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in listIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if !validPrefix(in.Prefix) {
		return nil, logical.ErrUnsupportedPath
	}
	return list(ctx, req.Storage, metaPrefix, in)
}

// writeMetadata serves create, update and patch. Settings absent from the
// request keep their value; custom_metadata is replaced by a write and
// merged by a patch (null removes a key). A patch needs existing metadata.
func (b *Backend) writeMetadata(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in metadataIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if !validKey(in.Path) {
		return nil, logical.ErrUnsupportedPath
	}
	patch := req.Operation == logical.PatchOperation
	custom, err := customMetadata(in.Custom, patch)
	if err != nil {
		return nil, err
	}
	now := b.now().UTC()
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		meta, err := loadMeta(ctx, tx, in.Path)
		if err != nil {
			return err
		}
		if meta == nil {
			if patch {
				return errNotFound
			}
			meta = &keyMeta{Created: now, Versions: make(map[int]*versionInfo)}
		}
		meta.Updated = now
		if in.MaxVersions != nil {
			meta.MaxVersions = *in.MaxVersions
		}
		if in.CASRequired != nil {
			meta.CASRequired = *in.CASRequired
		}
		if in.DeleteVersionAfter != nil {
			meta.DeleteVersionAfter = *in.DeleteVersionAfter
		}
		if in.Custom != nil {
			if patch {
				merged := maps.Clone(meta.Custom)
				if merged == nil {
					merged = make(map[string]string)
				}
				for k, v := range custom {
					if v == nil {
						delete(merged, k)
					} else {
						merged[k] = *v
					}
				}
				if len(merged) > maxCustomKeys {
					return logical.InvalidRequest("custom_metadata: at most %d keys are allowed", maxCustomKeys)
				}
				meta.Custom = merged
			} else {
				meta.Custom = make(map[string]string, len(custom))
				for k, v := range custom {
					meta.Custom[k] = *v
				}
			}
		}
		return saveMeta(ctx, tx, in.Path, meta)
	})
}

// customMetadata checks custom_metadata: string values within Vault's
// limits; a patch may also give null (a nil pointer) to remove a key.
func customMetadata(raw map[string]any, patch bool) (map[string]*string, error) {
	if raw == nil {
		return nil, nil
	}
	if len(raw) > maxCustomKeys {
		return nil, logical.InvalidRequest("custom_metadata: at most %d keys are allowed", maxCustomKeys)
	}
	out := make(map[string]*string, len(raw))
	for k, v := range raw {
		if k == "" || len(k) > maxCustomKeyLen {
			return nil, logical.InvalidRequest("custom_metadata: keys must be 1 to %d bytes long", maxCustomKeyLen)
		}
		switch s := v.(type) {
		case string:
			if len(s) > maxCustomValueLen {
				return nil, logical.InvalidRequest("custom_metadata: value of %q is longer than %d bytes", k, maxCustomValueLen)
			}
			out[k] = &s
		case nil:
			if !patch {
				return nil, logical.InvalidRequest("custom_metadata: value of %q must be a string", k)
			}
			out[k] = nil
		default:
			return nil, logical.InvalidRequest("custom_metadata: value of %q must be a string", k)
		}
	}
	return out, nil
}

// deleteMetadata removes the metadata and every version of a secret.
func (b *Backend) deleteMetadata(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	path := req.Param("path")
	if !validKey(path) {
		return nil, logical.ErrUnsupportedPath
	}
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		meta, err := loadMeta(ctx, tx, path)
		if err != nil || meta == nil {
			return err
		}
		for n := range meta.Versions {
			if err := tx.Delete(ctx, versionKey(path, n)); err != nil {
				return fmt.Errorf("delete version %d: %w", n, err)
			}
		}
		return tx.Delete(ctx, metaKey(path))
	})
}

func nonNegativeDuration(v any) error {
	if v.(time.Duration) < 0 {
		return errNegative
	}
	return nil
}
