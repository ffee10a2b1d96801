// Package seal protects the root key that opens the barrier.
//
// The Shamir seal keeps the root key encrypted under an unseal key that
// exists nowhere: at initialisation it is split into key shares handed to
// operators, and at unseal time enough of them are submitted, one by one
// (possibly by different people), to rebuild it. Only the encrypted root key
// and the share configuration are stored, below the barrier.
package seal

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/shamir"
	"github.com/tresorhq/tresor/internal/storage"
)

// Storage keys, in the raw store below the barrier.
const (
	configKey  = "seal/config"
	rootKeyKey = "seal/root-key"
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
type Config struct {
	Type            string `json:"type"`
	SecretShares    int    `json:"secret_shares"`
	SecretThreshold int    `json:"secret_threshold"`
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

	mu     sync.Mutex
	cfg    *Config // cached once read
	shares [][]byte
	nonce  string
}

// NewShamir returns a seal keeping its state in store (the raw store, not
// the barrier).
func NewShamir(store storage.Store) *Shamir {
	return &Shamir{store: store}
}

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
// unseal key itself, as in Vault.
func (s *Shamir) Initialize(ctx context.Context, cfg Config, rootKey []byte) ([][]byte, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Type = "shamir"
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.config(ctx); err == nil {
		return nil, ErrAlreadyInitialized
	} else if !errors.Is(err, ErrNotInitialized) {
		return nil, err
	}

	unsealKey := make([]byte, KeySize)
	if _, err := rand.Read(unsealKey); err != nil {
		return nil, fmt.Errorf("generate unseal key: %w", err)
	}
	sealed, err := encrypt(unsealKey, rootKey)
	if err != nil {
		return nil, err
	}
	var shares [][]byte
	if cfg.SecretShares == 1 {
		shares = [][]byte{unsealKey}
	} else if shares, err = shamir.Split(unsealKey, cfg.SecretShares, cfg.SecretThreshold); err != nil {
		return nil, fmt.Errorf("split unseal key: %w", err)
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	err = s.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(ctx, &storage.Entry{Key: rootKeyKey, Value: sealed}); err != nil {
			return err
		}
		return tx.Put(ctx, &storage.Entry{Key: configKey, Value: raw})
	})
	if err != nil {
		return nil, fmt.Errorf("store seal: %w", err)
	}
	s.cfg = &cfg
	return shares, nil
}

// Progress reports how many distinct shares have been submitted towards the
// current unseal attempt, and the attempt's nonce ("" when none is under way).
func (s *Shamir) Progress() (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.shares), s.nonce
}

// Reset discards the shares submitted so far.
func (s *Shamir) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reset()
}

func (s *Shamir) reset() {
	for _, sh := range s.shares {
		clear(sh)
	}
	s.shares = nil
	s.nonce = ""
}

// Submit adds one share. It returns the root key once the threshold is
// reached and the shares combine correctly; nil while more shares are
// needed. A share submitted twice makes no progress. A wrong combination
// resets progress and returns ErrBadShares.
func (s *Shamir) Submit(ctx context.Context, share []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, err := s.config(ctx)
	if err != nil {
		return nil, err
	}
	wantLen := KeySize + 1
	if cfg.SecretShares == 1 {
		wantLen = KeySize
	}
	if len(share) != wantLen {
		return nil, fmt.Errorf("%w: expected %d bytes, got %d", ErrInvalidShare, wantLen, len(share))
	}
	for _, have := range s.shares {
		if bytes.Equal(have, share) {
			return nil, nil
		}
	}
	if s.nonce == "" {
		s.nonce = randid.UUID()
	}
	s.shares = append(s.shares, bytes.Clone(share))
	if len(s.shares) < cfg.SecretThreshold {
		return nil, nil
	}

	defer s.reset()
	var unsealKey []byte
	if cfg.SecretShares == 1 {
		unsealKey = bytes.Clone(s.shares[0])
	} else if unsealKey, err = shamir.Combine(s.shares); err != nil {
		return nil, ErrBadShares
	}
	defer clear(unsealKey)
	e, err := s.store.Get(ctx, rootKeyKey)
	if err != nil {
		return nil, fmt.Errorf("read sealed root key: %w", err)
	}
	rootKey, err := decrypt(unsealKey, e.Value)
	if err != nil {
		return nil, ErrBadShares
	}
	return rootKey, nil
}

// The root key is sealed with AES-256-GCM under the unseal key, with its
// storage key as additional data: nonce || ciphertext+tag.
func encrypt(key, plaintext []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("generate nonce: %w", err)
	}
	return aead.Seal(nonce, nonce, plaintext, []byte(rootKeyKey)), nil
}

func decrypt(key, sealed []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("sealed root key too short")
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], []byte(rootKeyKey))
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("unseal key: %w", err)
	}
	return cipher.NewGCM(block)
}
