package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Backend is a mounted jwt (or oidc) auth method. It implements
// logical.Backend, logical.ExistenceChecker and logical.SpecialPather.
type Backend struct {
	*framework.Backend
	// now is the clock; tests replace it.
	now func() time.Time

	// mu guards the configuration and the key set built from it, loaded
	// from storage on first use and replaced by every config write.
	mu     sync.RWMutex
	loaded bool
	cfg    *config
	keys   keySet
}

var (
	_ logical.Backend       = (*Backend)(nil)
	_ logical.SpecialPather = (*Backend)(nil)
)

// Factory builds a jwt backend.
func Factory(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	b := &Backend{now: time.Now}
	var err error
	b.Backend, err = framework.New(help, []*framework.Path{
		b.pathConfig(), b.pathRoleList(), b.pathRole(), b.pathLogin(),
	})
	if err != nil {
		return nil, fmt.Errorf("jwt: %w", err)
	}
	return b, nil
}

// SpecialPaths implements logical.SpecialPather: logins need no token.
func (b *Backend) SpecialPaths() *logical.SpecialPaths {
	return &logical.SpecialPaths{Unauthenticated: []string{"login", "login/*"}}
}

const help = `The JWT auth method lets workloads log in with a JSON Web Token signed by
a key the method trusts: static public keys, a JWKS URL or an OpenID Connect
discovery URL (config). Roles (role/<name>) bind the token's audience,
subject and claims to token policies. The interactive OIDC browser flow is
not supported.`

// Storage keys.
const (
	configKey  = "config"
	rolePrefix = "role/"
)

func getJSON2[T any](ctx context.Context, s storage.Store, key string) (*T, error) {
	e, err := s.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	v := new(T)
	if err := json.Unmarshal(e.Value, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", key, err)
	}
	return v, nil
}

func putJSON(ctx context.Context, s storage.Store, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := s.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}

// config returns the configuration and its key set (nil, nil when the
// method is not configured).
func (b *Backend) config(ctx context.Context, s storage.Store) (*config, keySet, error) {
	b.mu.RLock()
	if b.loaded {
		defer b.mu.RUnlock()
		return b.cfg, b.keys, nil
	}
	b.mu.RUnlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.loaded {
		return b.cfg, b.keys, nil
	}
	cfg, err := getJSON2[config](ctx, s, configKey)
	if err != nil {
		return nil, nil, err
	}
	var keys keySet
	if cfg != nil {
		if keys, err = cfg.keySet(); err != nil {
			return nil, nil, fmt.Errorf("stored configuration: %w", err)
		}
	}
	b.cfg, b.keys, b.loaded = cfg, keys, true
	return cfg, keys, nil
}
