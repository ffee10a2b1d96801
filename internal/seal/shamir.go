// Package seal protects the root key that opens the barrier.
//
// The Shamir seal keeps the root key encrypted under an unseal key that
// exists nowhere: at initialisation it is split into key shares handed to
// operators, and at unseal time enough of them are submitted, one by one
// (possibly by different people), to rebuild it. Only the encrypted root key
// and the share configuration are stored, below the barrier.
package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
)

// Storage keys, in the raw store below the barrier.
const (
	configKey  = "seal/config"
	rootKeyKey = "seal/root-key"
	// With auto-unseal: the root key as the Wrapper wrapped it, and a
	// check value sealed under the recovery key that proves a quorum of
	// recovery shares without being able to open anything.
	wrappedKey       = "seal/root-key-wrapped"
	recoveryCheckKey = "seal/recovery-check"
)

// KeySize is the size of the unseal and root keys.
const KeySize = 32

var (
	// ErrNotInitialized: no seal configuration is stored yet.
	ErrNotInitialized = errors.New("seal: not initialized")
	// ErrAlreadyInitialized: Initialize was called on an initialised seal.
	ErrAlreadyInitialized = errors.New("seal: already initialized")
	// ErrBadShares: the submitted shares do not combine to the unseal key.
	// Progress has been reset.
	ErrBadShares = errors.New("unseal failed: the key shares do not combine to the unseal key; progress was reset, submit the shares again")
	// ErrInvalidShare: a share of the wrong length or form.
	ErrInvalidShare = errors.New("invalid key share")
)

// Config is the seal configuration. It holds no secret and is stored in
// clear so that seal-status can answer while sealed.
//
// With auto-unseal (Recovery set), SecretShares and SecretThreshold
// describe the recovery key's shares, as Vault's seal-status reports them.
type Config struct {
	Type            string `json:"type"`
	SecretShares    int    `json:"secret_shares"`
	SecretThreshold int    `json:"secret_threshold"`
	Recovery        bool   `json:"recovery,omitempty"`
}

// Validate checks the share parameters.
func (c Config) Validate() error {
	switch {
	case c.SecretShares < 1 || c.SecretShares > 255:
		return fmt.Errorf("secret_shares must be between 1 and 255, got %d", c.SecretShares)
	case c.SecretThreshold < 1:
		return fmt.Errorf("secret_threshold must be at least 1, got %d", c.SecretThreshold)
	case c.SecretThreshold > c.SecretShares:
		return fmt.Errorf("secret_threshold (%d) cannot be larger than secret_shares (%d)", c.SecretThreshold, c.SecretShares)
	case c.SecretShares > 1 && c.SecretThreshold == 1:
		return errors.New("secret_threshold must be greater than one when secret_shares is greater than one")
	}
	return nil
}

// Status is the seal state that sys/seal-status and sys/health report.
type Status struct {
	Type        string
	Initialized bool
	Sealed      bool
	Threshold   int
	Shares      int
	Progress    int
	Nonce       string
	ClusterName string
	ClusterID   string
	StorageType string
	// RecoverySeal: auto-unseal, the shares are recovery shares.
	RecoverySeal bool
	// Migration: a seal migration awaits its shares.
	Migration bool
	// Standby is set on an unsealed HA standby; HAEnabled when the node
	// runs active/standby.
	Standby, HAEnabled bool
}

// ConfigKey and RootKeyKey are the storage keys of the seal configuration
// and the sealed root key (a joining cluster node receives them raw).
const (
	ConfigKey  = configKey
	RootKeyKey = rootKeyKey
)

// Shamir is a seal whose unseal key is split with Shamir's secret sharing.
// It is safe for concurrent use.
type Shamir struct {
	store storage.Store
	// wrap, when set, makes this an auto-unseal seal: the root key is kept
	// wrapped by it and the shares are recovery shares.
	wrap Wrapper
	// from is the seal being migrated away from (a disabled stanza), when
	// it is an auto-unseal one.
	from Wrapper

	mu    sync.Mutex
	cfg   *Config // cached once read
	q     quorum  // the unseal shares submitted so far
	nonce string
}

// NewShamir returns a seal keeping its state in store (the raw store, not
// the barrier).
func NewShamir(store storage.Store) *Shamir {
	return &Shamir{store: store}
}

// NewAuto returns an auto-unseal seal over store whose root key w wraps.
func NewAuto(store storage.Store, w Wrapper) *Shamir {
	return &Shamir{store: store, wrap: w}
}

// Wrapper returns the auto-unseal wrapper, nil for a Shamir seal.
func (s *Shamir) Wrapper() Wrapper { return s.wrap }

// Config returns the stored configuration, or ErrNotInitialized.
func (s *Shamir) Config(ctx context.Context) (Config, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, err := s.config(ctx)
	if err != nil {
		return Config{}, err
	}
	return *cfg, nil
}

func (s *Shamir) config(ctx context.Context) (*Config, error) {
	if s.cfg != nil {
		return s.cfg, nil
	}
	e, err := s.store.Get(ctx, configKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, ErrNotInitialized
	}
	if err != nil {
		return nil, fmt.Errorf("read seal config: %w", err)
	}
	var cfg Config
	if err := json.Unmarshal(e.Value, &cfg); err != nil {
		return nil, fmt.Errorf("decode seal config: %w", err)
	}
	s.cfg = &cfg
	return s.cfg, nil
}

// Initialize stores cfg and rootKey encrypted under a fresh unseal key, and
// returns the unseal key's shares. With a single share the share is the
// unseal key itself, as in Vault. With auto-unseal the root key is wrapped
// by the Wrapper instead and the shares returned are recovery shares, under
// cfg's share settings.
func (s *Shamir) Initialize(ctx context.Context, cfg Config, rootKey []byte) ([][]byte, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Type, cfg.Recovery = "shamir", s.wrap != nil
	if s.wrap != nil {
		cfg.Type = s.wrap.Type()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.config(ctx); err == nil {
		return nil, ErrAlreadyInitialized
	} else if !errors.Is(err, ErrNotInitialized) {
		return nil, err
	}
	key, shares, err := splitKey(cfg)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	entries, err := s.sealEntries(ctx, cfg, key, rootKey)
	if err != nil {
		return nil, err
	}
	if err := s.store.Update(ctx, func(tx storage.Tx) error {
		for _, e := range entries {
			if err := tx.Put(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("store seal: %w", err)
	}
	s.cfg = &cfg
	return shares, nil
}

// sealEntries are the storage entries that make up a seal under cfg: for
// Shamir the root key sealed under key (the unseal key); with auto-unseal
// the root key wrapped and a check value sealed under key (the recovery
// key). The configuration goes last.
func (s *Shamir) sealEntries(ctx context.Context, cfg Config, key, rootKey []byte) ([]*storage.Entry, error) {
	var out []*storage.Entry
	if cfg.Recovery {
		wrapped, err := s.wrap.Encrypt(ctx, rootKey)
		if err != nil {
			return nil, fmt.Errorf("wrap root key: %w", err)
		}
		check := make([]byte, KeySize)
		_, _ = rand.Read(check)
		sealedCheck, err := encryptAD(key, check, recoveryCheckKey)
		if err != nil {
			return nil, err
		}
		out = append(out, &storage.Entry{Key: wrappedKey, Value: wrapped}, &storage.Entry{Key: recoveryCheckKey, Value: sealedCheck})
	} else {
		sealed, err := encrypt(key, rootKey)
		if err != nil {
			return nil, err
		}
		out = append(out, &storage.Entry{Key: rootKeyKey, Value: sealed})
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	return append(out, &storage.Entry{Key: configKey, Value: raw}), nil
}

// AutoRootKey unwraps the root key of an auto-unseal seal, wrapping it
// again with the current key when it was wrapped with a previous one. It
// returns ErrNotInitialized, and unwraps nothing, while a migration to
// this seal is pending.
func (s *Shamir) AutoRootKey(ctx context.Context) ([]byte, error) {
	if s.wrap == nil {
		return nil, errors.New("seal: not an auto-unseal seal")
	}
	return unwrapRoot(ctx, s.store, s.wrap, true)
}

// Progress reports how many distinct shares have been submitted towards the
// current unseal attempt, and the attempt's nonce ("" when none is under way).
func (s *Shamir) Progress() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.q.len(), s.nonce
}

// Reset discards the shares submitted so far.
func (s *Shamir) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

func (s *Shamir) reset() {
	s.q.reset()
	s.nonce = ""
}

// Submit adds one share. It returns the root key once the threshold is
// reached and the shares combine correctly; nil while more shares are
// needed. A share submitted twice makes no progress. A wrong combination
// resets progress and returns ErrBadShares. With auto-unseal the shares
// are recovery shares and the root key comes from the Wrapper.
func (s *Shamir) Submit(ctx context.Context, share []byte) ([]byte, error) {
	return s.submit(ctx, share, false)
}

func (s *Shamir) submit(ctx context.Context, share []byte, migrate bool) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, err := s.config(ctx)
	if err != nil {
		return nil, err
	}
	if pending := s.migrationPending(cfg); pending != migrate {
		if pending {
			return nil, ErrMigrationPending
		}
		return nil, ErrNoMigration
	}
	if err := checkShare(share, cfg.SecretShares); err != nil {
		return nil, err
	}
	if !s.q.add(share) {
		return nil, nil
	}
	if s.nonce == "" {
		s.nonce = randid.UUID()
	}
	if s.q.len() < cfg.SecretThreshold {
		return nil, nil
	}
	defer s.reset()
	if migrate {
		rootKey, err := s.migrate(ctx, &s.q, *cfg)
		if errors.Is(err, ErrQuorumFailed) {
			return nil, ErrBadShares
		}
		return rootKey, err
	}
	rootKey, err := s.rootKeyFrom(ctx, &s.q, *cfg)
	if errors.Is(err, ErrQuorumFailed) {
		return nil, ErrBadShares
	}
	return rootKey, err
}

// The root key is sealed with AES-256-GCM under the unseal key, with its
// storage key as additional data: nonce || ciphertext+tag.
func encrypt(key, plaintext []byte) ([]byte, error) {
	return encryptAD(key, plaintext, rootKeyKey)
}

func encryptAD(key, plaintext []byte, ad string) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(ad)), nil
}

func decrypt(key, sealed []byte) ([]byte, error) {
	return decryptAD(key, sealed, rootKeyKey)
}

func decryptAD(key, sealed []byte, ad string) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("sealed root key too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], []byte(ad))
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("unseal key: %w", err)
	}
	return cipher.NewGCM(block)
}
