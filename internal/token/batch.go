package token

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// batchAAD binds sealed batch entries to their purpose and format version.
var batchAAD = []byte("tresor batch token v1")

// batchSealer seals batch token entries into their IDs.
type batchSealer struct{ aead cipher.AEAD }

func newBatchSealer(k []byte) (*batchSealer, error) {
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, fmt.Errorf("batch token cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("batch token cipher: %w", err)
	}
	return &batchSealer{aead: aead}, nil
}

// createBatch mints a batch token: nothing is stored, the ID is the sealed
// entry. Batch tokens have no accessor and cannot be renewed.
func (s *Store) createBatch(e *Entry) (*Entry, error) {
	e.Accessor = ""
	e.Renewable = false
	e.NumUses = 0
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode batch token: %w", err)
	}
	nonce := make([]byte, s.batch.aead.NonceSize(), s.batch.aead.NonceSize()+len(raw)+s.batch.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("batch token nonce: %w", err)
	}
	sealed := s.batch.aead.Seal(nonce, nonce, raw, batchAAD)
	e.ID = BatchPrefix + base64.RawURLEncoding.EncodeToString(sealed)
	return e, nil
}

// lookupBatch opens a batch token ID. Anything that does not open, has
// expired, or whose parent is gone is ErrNotFound.
func (s *Store) lookupBatch(ctx context.Context, id string) (*Entry, error) {
	sealed, err := base64.RawURLEncoding.DecodeString(id[len(BatchPrefix):])
	ns := s.batch.aead.NonceSize()
	if err != nil || len(sealed) < ns+s.batch.aead.Overhead() {
		return nil, ErrNotFound
	}
	raw, err := s.batch.aead.Open(nil, sealed[:ns], sealed[ns:], batchAAD)
	if err != nil {
		return nil, ErrNotFound
	}
	e := new(Entry)
	if err := json.Unmarshal(raw, e); err != nil {
		return nil, ErrNotFound
	}
	if e.Type != TypeBatch || e.Expired(s.now()) {
		return nil, ErrNotFound
	}
	if e.Parent != "" {
		// A batch token dies with its parent.
		pk, ok := parseKey(e.Parent)
		if !ok {
			return nil, ErrNotFound
		}
		p, err := s.entry(ctx, pk)
		if err != nil {
			return nil, err
		}
		if p.Expired(s.now()) {
			return nil, ErrNotFound
		}
	}
	e.ID = id
	return e, nil
}
