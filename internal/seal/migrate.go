package seal

import (
	"context"
	"errors"
	"fmt"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Seal migration, as Vault does it: the configuration names a new seal
// (and, when the old one was an auto-unseal seal, keeps it as a disabled
// stanza). The server then starts sealed with a migration pending, and a
// quorum of the current shares submitted with migrate set moves the root
// key to the new seal. The shares stay the same: Shamir unseal keys become
// the recovery keys of the auto seal, and recovery keys become unseal keys
// when going back to Shamir.

var (
	// ErrMigrationPending: a plain unseal while the configuration asks
	// for a migration.
	ErrMigrationPending = logical.InvalidRequest("a seal migration is pending: unseal with migrate set (operator unseal -migrate)")
	// ErrNoMigration: migrate set while there is nothing to migrate.
	ErrNoMigration = logical.InvalidRequest("no seal migration is pending: the configured seal is the one in use")
)

// SetMigrationSource names the auto-unseal seal a migration moves away
// from (the disabled seal stanza).
func (s *Shamir) SetMigrationSource(w Wrapper) { s.from = w }

// targetType is the type of the configured (enabled) seal.
func (s *Shamir) targetType() string {
	if s.wrap == nil {
		return "shamir"
	}
	return s.wrap.Type()
}

// MigrationPending reports whether the stored seal differs from the
// configured one.
func (s *Shamir) MigrationPending(ctx context.Context) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, err := s.config(ctx)
	return err == nil && s.migrationPending(cfg)
}

func (s *Shamir) migrationPending(cfg *Config) bool { return cfg.Type != s.targetType() }

// SubmitMigrate is Submit for a migration: at the threshold the root key
// is recovered through the stored seal and moved to the configured one.
func (s *Shamir) SubmitMigrate(ctx context.Context, share []byte) ([]byte, error) {
	return s.submit(ctx, share, true)
}

// migrate moves the seal described by cur to the configured one, keeping
// the key the shares rebuild. Called with s.mu held.
func (s *Shamir) migrate(ctx context.Context, q *quorum, cur Config) ([]byte, error) {
	key, err := q.combine(cur.SecretShares)
	if err != nil {
		return nil, ErrQuorumFailed
	}
	defer clear(key)
	rootKey, err := s.rootKeyWith(ctx, key, cur)
	if err != nil {
		return nil, err
	}
	next := Config{Type: s.targetType(), SecretShares: cur.SecretShares, SecretThreshold: cur.SecretThreshold, Recovery: s.wrap != nil}
	entries, err := s.sealEntries(ctx, next, key, rootKey)
	if err != nil {
		clear(rootKey)
		return nil, err
	}
	// What the old seal kept goes: left behind, the sealed root key would
	// let the recovery keys (the same key) open it.
	stale := []string{wrappedKey, recoveryCheckKey}
	if next.Recovery {
		stale = []string{rootKeyKey}
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		for _, k := range stale {
			if err := tx.Delete(ctx, k); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		for _, e := range entries {
			if err := tx.Put(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		clear(rootKey)
		return nil, fmt.Errorf("store migrated seal: %w", err)
	}
	s.cfg = &next
	return rootKey, nil
}

// unwrapRoot reads the wrapped root key and unwraps it with w, wrapping
// it again with w's current key when rewrap is set and w says it is stale.
func unwrapRoot(ctx context.Context, store storage.Store, w Wrapper, rewrap bool) ([]byte, error) {
	e, err := store.Get(ctx, wrappedKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotInitialized
	}
	if err != nil {
		return nil, fmt.Errorf("read wrapped root key: %w", err)
	}
	rootKey, err := w.Decrypt(ctx, e.Value)
	if err != nil {
		return nil, err
	}
	if st, ok := w.(interface{ Stale([]byte) bool }); rewrap && ok && st.Stale(e.Value) {
		if again, err := w.Encrypt(ctx, rootKey); err == nil {
			_ = store.Put(ctx, &storage.Entry{Key: wrappedKey, Value: again})
		}
	}
	return rootKey, nil
}
