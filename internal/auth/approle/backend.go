package approle

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// saltKey is where the mount's HMAC key lives.
const saltKey = "salt"

// Backend is a mounted AppRole auth method. It implements logical.Backend,
// logical.ExistenceChecker and logical.SpecialPather.
type Backend struct {
	*framework.Backend
	// now is the clock; tests replace it.
	now func() time.Time

	keyMu sync.Mutex
	key   []byte // HMAC key, loaded or created on first use
}

var (
	_ logical.Backend       = (*Backend)(nil)
	_ logical.SpecialPather = (*Backend)(nil)
)

// Factory builds an AppRole backend.
func Factory(_ context.Context, _ *logical.BackendConfig) (logical.Backend, error) {
	b := &Backend{now: time.Now}
	var err error
	b.Backend, err = framework.New(help, []*framework.Path{
		b.pathRoleList(), b.pathRole(), b.pathRoleID(),
		b.pathSecretID(), b.pathCustomSecretID(),
		b.pathSecretIDLookup(), b.pathSecretIDDestroy(),
		b.pathAccessorLookup(), b.pathAccessorDestroy(),
		b.pathLogin(), b.pathTidy(),
	})
	if err != nil {
		return nil, fmt.Errorf("approle: %w", err)
	}
	return b, nil
}

// SpecialPaths implements logical.SpecialPather: logins need no token.
func (b *Backend) SpecialPaths() *logical.SpecialPaths {
	return &logical.SpecialPaths{Unauthenticated: []string{"login", "login/*"}}
}

// hmacKey returns the mount's HMAC key, creating it on first use.
func (b *Backend) hmacKey(ctx context.Context, s storage.Store) ([]byte, error) {
	b.keyMu.Lock()
	defer b.keyMu.Unlock()
	if b.key != nil {
		return b.key, nil
	}
	var key []byte
	err := s.Update(ctx, func(tx storage.Tx) error {
		e, err := tx.Get(ctx, saltKey)
		switch {
		case err == nil:
			key = e.Value
			return nil
		case !errors.Is(err, storage.ErrNotFound):
			return err
		}
		key = make([]byte, 32)
		rand.Read(key)
		return tx.Put(ctx, &storage.Entry{Key: saltKey, Value: key})
	})
	if err != nil {
		return nil, fmt.Errorf("approle: load HMAC key: %w", err)
	}
	b.key = key
	return key, nil
}

// hmacOf is the storage name of a secret value: hex HMAC-SHA256 under the
// mount's key.
func (b *Backend) hmacOf(ctx context.Context, s storage.Store, value string) (string, error) {
	key, err := b.hmacKey(ctx, s)
	if err != nil {
		return "", err
	}
	return mac(key, value), nil
}

// mac is the hex HMAC-SHA256 of value under key.
func mac(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil))
}

const help = `The AppRole auth method lets machines and applications authenticate
with a role ID and a secret ID issued for that role.`
