package transit

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

const (
	cacheConfigKey = "config/cache"
	keysConfigKey  = "config/keys"
)

type cacheConfig struct {
	Size int `json:"size"`
}

type keysConfig struct {
	DisableUpsert bool `json:"disable_upsert"`
}

func loadJSON(ctx context.Context, st storage.Reader, key string, v any) error {
	e, err := st.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(e.Value, v)
}

func putJSON(ctx context.Context, st storage.Writer, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.Put(ctx, &storage.Entry{Key: key, Value: raw})
}

func loadCacheConfig(ctx context.Context, st storage.Reader) (cacheConfig, error) {
	var c cacheConfig
	return c, loadJSON(ctx, st, cacheConfigKey, &c)
}

func loadKeysConfig(ctx context.Context, st storage.Reader) (keysConfig, error) {
	var c keysConfig
	return c, loadJSON(ctx, st, keysConfigKey, &c)
}

func (b *Backend) pathCacheConfig() *framework.Path {
	return &framework.Path{
		Pattern: "cache-config",
		Fields: map[string]*framework.Field{
			"size": {Type: framework.TypeInt, Description: "How many keys the cache holds: 0 for no bound, else at least 10."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readCacheConfig,
			logical.UpdateOperation: b.writeCacheConfig,
			logical.CreateOperation: b.writeCacheConfig,
		},
		Synopsis: "Configure the size of the key cache.",
	}
}

func (b *Backend) readCacheConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	c, err := loadCacheConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"size": c.Size}}, nil
}

func (b *Backend) writeCacheConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Size int `field:"size"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Size < 0 || (in.Size > 0 && in.Size < 10) {
		return nil, logical.InvalidRequest("size must be 0 or a value greater or equal to 10")
	}
	if err := putJSON(ctx, req.Storage, cacheConfigKey, cacheConfig{Size: in.Size}); err != nil {
		return nil, err
	}
	// Applied at once; Vault applies it when the mount is reloaded.
	b.keys.size.Store(int64(in.Size))
	return &logical.Response{Data: map[string]any{"size": in.Size}}, nil
}

func (b *Backend) pathConfigKeys() *framework.Path {
	return &framework.Path{
		Pattern: "config/keys",
		Fields: map[string]*framework.Field{
			"disable_upsert": {Type: framework.TypeBool, Description: "Refuse to create keys from encrypt/."},
		},
		Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   b.readKeysConfig,
			logical.UpdateOperation: b.writeKeysConfig,
			logical.CreateOperation: b.writeKeysConfig,
		},
		Synopsis: "Mount-wide key settings.",
	}
}

func (b *Backend) readKeysConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	c, err := loadKeysConfig(ctx, req.Storage)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"disable_upsert": c.DisableUpsert}}, nil
}

func (b *Backend) writeKeysConfig(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		DisableUpsert bool `field:"disable_upsert"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if err := putJSON(ctx, req.Storage, keysConfigKey, keysConfig(in)); err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"disable_upsert": in.DisableUpsert}}, nil
}
