package barrier

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// keyringKey is where, in the underlying store, the keyring lives,
// encrypted under the root key (term 0) with this path as AAD.
const keyringKey = "barrier/keyring"

// KeyringKey is keyringKey, for a joining cluster node that receives the
// stored keyring raw.
const KeyringKey = keyringKey

// reservedPrefix is the part of the key space the barrier keeps for itself.
const reservedPrefix = "barrier/"

// keySize is the size of the root key and of every data key (AES-256).
const keySize = 32

// rootTerm is the term number of values encrypted under the root key.
const rootTerm = 0

// term is one data key of the keyring, with its cipher built once.
type term struct {
	number      uint32
	key         []byte
	aead        cipher.AEAD
	installed   time.Time
	encryptions atomic.Uint64 // since this process unsealed; not persisted
}

// keyring is an immutable snapshot of the barrier's keys: Rotate builds a
// new one rather than changing it, so readers take the snapshot under the
// lock and then use it without holding the lock. terms[i] is term i+1; the
// last is the active term, used for new writes.
type keyring struct {
	root  cipher.AEAD // term 0; seals the keyring itself
	terms []*term
}

func (r *keyring) active() *term { return r.terms[len(r.terms)-1] }

// term returns the cipher of term n, or an error wrapping ErrDecrypt.
func (r *keyring) term(path string, n uint32) (*term, error) {
	if n == rootTerm || uint64(n) > uint64(len(r.terms)) {
		return nil, fmt.Errorf("decrypt %q: unknown term %d: %w", path, n, ErrDecrypt)
	}
	return r.terms[n-1], nil
}

// wipe zeroes the data keys. The AES key schedules inside the ciphers
// cannot be reached; dropping the keyring leaves them to the collector.
func (r *keyring) wipe() {
	for _, t := range r.terms {
		clear(t.key)
	}
}

// newTerm makes term n with a fresh random data key.
func newTerm(n uint32, now time.Time) (*term, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("data key cipher: %w", err)
	}
	return &term{number: n, key: key, aead: aead, installed: now.UTC()}, nil
}

// withTerm returns a new keyring holding r's terms followed by t.
func (r *keyring) withTerm(t *term) *keyring {
	terms := make([]*term, len(r.terms), len(r.terms)+1)
	copy(terms, r.terms)
	return &keyring{root: r.root, terms: append(terms, t)}
}

// storedKeyring is the keyring's plaintext form (JSON; []byte as base64).
type storedKeyring struct {
	Terms []storedTerm `json:"terms"`
}

type storedTerm struct {
	Term        uint32    `json:"term"`
	Key         []byte    `json:"key"`
	InstallTime time.Time `json:"install_time"`
}

// seal serialises the keyring and encrypts it under the root key, ready to
// be stored at keyringKey.
func (r *keyring) seal() ([]byte, error) {
	s := storedKeyring{Terms: make([]storedTerm, len(r.terms))}
	for i, t := range r.terms {
		s.Terms[i] = storedTerm{Term: t.number, Key: t.key, InstallTime: t.installed}
	}
	plaintext, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode keyring: %w", err)
	}
	defer clear(plaintext)
	return encrypt(r.root, rootTerm, keyringKey, plaintext)
}

// openKeyring decrypts a stored keyring with the root key. A value the
// root key cannot open gives ErrBadRootKey.
func openKeyring(rootKey, value []byte) (*keyring, error) {
	root, err := newAEAD(rootKey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRootKey, err)
	}
	return openKeyringWith(root, value)
}

// openKeyringWith is openKeyring with the root key's cipher.
func openKeyringWith(root cipher.AEAD, value []byte) (*keyring, error) {
	n, err := termOf(keyringKey, value)
	if err == nil && n != rootTerm {
		err = fmt.Errorf("keyring written under term %d, want %d: %w", n, rootTerm, ErrDecrypt)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRootKey, err)
	}
	plaintext, err := decrypt(root, keyringKey, value)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRootKey, err)
	}
	defer clear(plaintext)

	var s storedKeyring
	if err := json.Unmarshal(plaintext, &s); err != nil {
		// json's syntax errors quote the offending byte, which here could
		// be part of a key: report only that decoding failed.
		return nil, errors.New("barrier: decode keyring: malformed keyring")
	}
	r := &keyring{root: root, terms: make([]*term, 0, len(s.Terms))}
	for i, st := range s.Terms {
		if st.Term != uint32(i+1) {
			r.wipe()
			return nil, fmt.Errorf("barrier: keyring entry %d holds term %d, want %d", i, st.Term, i+1)
		}
		aead, err := newAEAD(st.Key)
		if err != nil {
			r.wipe()
			return nil, fmt.Errorf("barrier: keyring term %d: %w", st.Term, err)
		}
		r.terms = append(r.terms, &term{number: st.Term, key: st.Key, aead: aead, installed: st.InstallTime})
	}
	if len(r.terms) == 0 {
		return nil, errors.New("barrier: keyring holds no terms")
	}
	return r, nil
}

// nextTerm is the number Rotate gives the next term.
func (r *keyring) nextTerm() (uint32, error) {
	n := r.active().number
	if n == math.MaxUint32 {
		return 0, errors.New("barrier: keyring has no term numbers left")
	}
	return n + 1, nil
}
