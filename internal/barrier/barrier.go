// Package barrier encrypts everything Tresor stores. A Barrier wraps a
// storage.Store and is itself one: values pass through it in plaintext
// above and reach the underlying store only as AES-256-GCM ciphertext.
//
// Lifecycle:
//
//	b := barrier.New(store)
//	err := b.Initialize(ctx, rootKey) // once, ever: creates the keyring
//	err = b.Unseal(ctx, rootKey)      // loads the keys; ErrBadRootKey if wrong
//	err = b.Put(ctx, &storage.Entry{Key: "core/cluster", Value: v})
//	b.Seal()                          // forgets the keys; now ErrSealed
//
// The root key (32 bytes, kept by the seal, never stored) encrypts only the
// keyring, stored at "barrier/keyring". The keyring holds the data keys,
// one per term. New writes use the newest term; Rotate adds a term and every
// older term keeps decrypting what it wrote. Each stored value carries its
// term, a random nonce and an authentication tag over the value and its
// storage key, so a value that is altered, truncated, or moved to another
// key reads as ErrDecrypt, never as garbage. Error text names the key, never
// the content.
//
// Keys under "barrier/" are the barrier's own: reads and writes of them
// through the barrier fail with ErrReservedKey. List is not filtered.
//
// Nonces are random (96 bits), so a single term should encrypt well under
// 2^32 values; KeyStatus reports the count since unseal so the operator can
// rotate in time.
//
// A Barrier is safe for concurrent use.
package barrier

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// Barrier is an encrypting storage.Store over another storage.Store. The
// zero value is not usable; call New.
type Barrier struct {
	under storage.Store

	mu   sync.RWMutex
	ring *keyring // nil while sealed
}

var _ storage.Store = (*Barrier)(nil)

// KeyInfo describes the active term of the keyring.
type KeyInfo struct {
	Term        uint32
	InstallTime time.Time
	// Encryptions counts values written under this term since this
	// process unsealed the barrier.
	Encryptions uint64
}

// New returns a sealed barrier over under.
func New(under storage.Store) *Barrier {
	return &Barrier{under: under}
}

// Initialized reports whether a keyring exists in the underlying store.
func (b *Barrier) Initialized(ctx context.Context) (bool, error) {
	_, err := b.under.Get(ctx, keyringKey)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, storage.ErrNotFound):
		return false, nil
	default:
		return false, fmt.Errorf("barrier: read keyring: %w", err)
	}
}

// Initialize creates the keyring, encrypted under rootKey, with term 1 and
// a fresh random data key. It fails with ErrAlreadyInitialized when a
// keyring exists, and with ErrBadRootKey when rootKey is not 32 bytes. The
// barrier stays sealed; call Unseal next.
func (b *Barrier) Initialize(ctx context.Context, rootKey []byte) error {
	root, err := newAEAD(rootKey)
	if err != nil {
		return fmt.Errorf("barrier: initialize: %w: %w", ErrBadRootKey, err)
	}
	first, err := newTerm(1, time.Now())
	if err != nil {
		return fmt.Errorf("barrier: initialize: %w", err)
	}
	ring := &keyring{root: root, terms: []*term{first}}
	defer ring.wipe()
	value, err := ring.seal()
	if err != nil {
		return fmt.Errorf("barrier: initialize: %w", err)
	}
	// Check and write in one transaction so two racing Initialize calls
	// cannot both succeed.
	err = b.under.Update(ctx, func(tx storage.Tx) error {
		_, err := tx.Get(ctx, keyringKey)
		switch {
		case err == nil:
			return ErrAlreadyInitialized
		case !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("barrier: read keyring: %w", err)
		}
		return tx.Put(ctx, &storage.Entry{Key: keyringKey, Value: value})
	})
	if err != nil && !errors.Is(err, ErrAlreadyInitialized) {
		return fmt.Errorf("barrier: initialize: %w", err)
	}
	return err
}

// Unseal loads the keyring and decrypts it with rootKey. It fails with
// ErrNotInitialized when there is no keyring and ErrBadRootKey when rootKey
// cannot decrypt it; the barrier's state is unchanged on failure. Unsealing
// an unsealed barrier reloads the keyring.
func (b *Barrier) Unseal(ctx context.Context, rootKey []byte) error {
	e, err := b.under.Get(ctx, keyringKey)
	if errors.Is(err, storage.ErrNotFound) {
		return ErrNotInitialized
	}
	if err != nil {
		return fmt.Errorf("barrier: read keyring: %w", err)
	}
	ring, err := openKeyring(rootKey, e.Value)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring != nil {
		b.ring.wipe()
	}
	b.ring = ring
	return nil
}

// Reload re-reads the keyring under the root key the barrier was unsealed
// with, so a node that did not make a rotation (an HA standby) picks up the
// new term. ErrSealed if sealed.
func (b *Barrier) Reload(ctx context.Context) error {
	b.mu.RLock()
	cur := b.ring
	b.mu.RUnlock()
	if cur == nil {
		return ErrSealed
	}
	e, err := b.under.Get(ctx, keyringKey)
	if err != nil {
		return fmt.Errorf("barrier: read keyring: %w", err)
	}
	ring, err := openKeyringWith(cur.root, e.Value)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring == nil {
		ring.wipe()
		return ErrSealed
	}
	b.ring.wipe()
	b.ring = ring
	return nil
}

// Seal zeroes the data keys and forgets the keyring. Afterwards every Store
// method, Rotate and KeyStatus return ErrSealed. Calls already past their
// key lookup finish.
func (b *Barrier) Seal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring != nil {
		b.ring.wipe()
		b.ring = nil
	}
}

// Sealed reports whether the barrier holds no keys.
func (b *Barrier) Sealed() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.ring == nil
}

// keys returns the current keyring snapshot, or ErrSealed.
func (b *Barrier) keys() (*keyring, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.ring == nil {
		return nil, ErrSealed
	}
	return b.ring, nil
}

// Rotate adds a term with a fresh data key and makes it the active term.
// The whole keyring is written to the underlying store before Rotate
// returns and before any write uses the new term; if that write fails
// nothing changes. Values written under older terms stay readable.
func (b *Barrier) Rotate(ctx context.Context) (KeyInfo, error) {
	// The write lock is held across the keyring write: it makes rotation
	// atomic, and reads pause for one durable write, as rotation is rare.
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring == nil {
		return KeyInfo{}, ErrSealed
	}
	n, err := b.ring.nextTerm()
	if err != nil {
		return KeyInfo{}, err
	}
	t, err := newTerm(n, time.Now())
	if err != nil {
		return KeyInfo{}, fmt.Errorf("barrier: rotate: %w", err)
	}
	next := b.ring.withTerm(t)
	value, err := next.seal()
	if err != nil {
		clear(t.key)
		return KeyInfo{}, fmt.Errorf("barrier: rotate: %w", err)
	}
	if err := b.under.Put(ctx, &storage.Entry{Key: keyringKey, Value: value}); err != nil {
		clear(t.key)
		return KeyInfo{}, fmt.Errorf("barrier: rotate: write keyring: %w", err)
	}
	b.ring = next
	return t.info(), nil
}

// KeyStatus describes the active term, or returns ErrSealed.
func (b *Barrier) KeyStatus() (KeyInfo, error) {
	ring, err := b.keys()
	if err != nil {
		return KeyInfo{}, err
	}
	return ring.active().info(), nil
}

func (t *term) info() KeyInfo {
	return KeyInfo{Term: t.number, InstallTime: t.installed, Encryptions: t.encryptions.Load()}
}
