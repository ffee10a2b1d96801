package kv

import (
	"context"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

func (b *Backend) pathConfig() *framework.Path {
	return &framework.Path{
		Pattern: "config",
		Fields: map[string]*framework.Field{
			"max_versions":         {Type: framework.TypeInt, Validate: nonNegative, Description: "Versions kept per key; 0 means 10."},
			"cas_required":         {Type: framework.TypeBool, Description: "Require check-and-set on every write."},
			"delete_version_after": {Type: framework.TypeDuration, Validate: nonNegativeDuration, Description: "Soft-delete versions this long after they are written; 0 never."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readConfig,
			logical.CreateOperation: b.writeConfig,
			logical.UpdateOperation: b.writeConfig,
		},
		// The configuration always exists (with defaults): writes update it.
		ExistenceCheck: func(context.Context, *framework.Request) (bool, error) { return true, nil },
		Synopsis:       "Configure the defaults of every key of the mount.",
	}
}

type configIn struct {
	MaxVersions        *int           `field:"max_versions"`
	CASRequired        *bool          `field:"cas_required"`
	DeleteVersionAfter *time.Duration `field:"delete_version_after"`
}

func (b *Backend) readConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	cfg, err := loadConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{
		"cas_required":         cfg.CASRequired,
		"delete_version_after": cfg.DeleteVersionAfter.String(),
		"max_versions":         cfg.MaxVersions,
	}}, nil
}

// writeConfig changes the settings given and keeps the others.
func (b *Backend) writeConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in configIn
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	return nil, req.Storage.Update(ctx, func(tx storage.Tx) error {
		cfg, err := loadConfig(ctx, tx)
		if err != nil {
			return err
		}
		if in.MaxVersions != nil {
			cfg.MaxVersions = *in.MaxVersions
		}
		if in.CASRequired != nil {
			cfg.CASRequired = *in.CASRequired
		}
		if in.DeleteVersionAfter != nil {
			cfg.DeleteVersionAfter = *in.DeleteVersionAfter
		}
		return putJSON(ctx, tx, configKey, cfg)
	})
}

// v2Paths is the endpoint table of KV v2.
func (b *Backend) v2Paths() []*framework.Path {
	return append([]*framework.Path{b.pathConfig(), b.pathData(), b.pathMetadata(), b.pathSubkeys()}, b.pathVersions()...)
}
