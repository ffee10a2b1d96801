package barrier

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// Every value the barrier writes has this layout:
//
//	version (1 byte) | term (4 bytes, big-endian) | nonce (12 bytes) | AES-256-GCM ciphertext and 16-byte tag
//
// The storage key is the additional authenticated data, so a value copied
// to another key fails to open. The term selects the data key; term 0 is
// the root key, used only for the keyring itself.
const (
	formatVersion = 1
	headerSize    = 1 + 4
	nonceSize     = 12
	tagSize       = 16
	prefixSize    = headerSize + nonceSize
	overhead      = prefixSize + tagSize
)

// encrypt seals plaintext for storage under path with aead, the cipher of
// the given term. Each call draws a fresh random nonce.
func encrypt(aead cipher.AEAD, term uint32, path string, plaintext []byte) ([]byte, error) {
	out := make([]byte, prefixSize, overhead+len(plaintext))
	out[0] = formatVersion
	binary.BigEndian.PutUint32(out[1:headerSize], term)
	nonce := out[headerSize:prefixSize]
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("encrypt %q: read nonce: %w", path, err)
	}
	return aead.Seal(out, nonce, plaintext, []byte(path)), nil
}

// termOf checks value's version and length and returns the term it was
// written under.
func termOf(path string, value []byte) (uint32, error) {
	if len(value) < overhead {
		return 0, fmt.Errorf("decrypt %q: value is %d bytes, shorter than the %d-byte minimum: %w", path, len(value), overhead, ErrDecrypt)
	}
	if value[0] != formatVersion {
		return 0, fmt.Errorf("decrypt %q: unknown format version %d: %w", path, value[0], ErrDecrypt)
	}
	return binary.BigEndian.Uint32(value[1:headerSize]), nil
}

// decrypt opens value, stored under path, with aead, the cipher of the term
// termOf reported. The caller must have checked value with termOf.
func decrypt(aead cipher.AEAD, path string, value []byte) ([]byte, error) {
	nonce := value[headerSize:prefixSize]
	plaintext, err := aead.Open(nil, nonce, value[prefixSize:], []byte(path))
	if err != nil {
		// GCM's error says only "message authentication failed"; name the
		// key instead, and nothing of the content.
		return nil, fmt.Errorf("decrypt %q: authentication failed: %w", path, ErrDecrypt)
	}
	if plaintext == nil {
		plaintext = []byte{}
	}
	return plaintext, nil
}

// newAEAD returns AES-256-GCM for a 32-byte key.
func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != keySize {
		return nil, fmt.Errorf("key is %d bytes, want %d", len(key), keySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
