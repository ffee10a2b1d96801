package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Wrapper protects the root key of an auto-unseal seal: it encrypts it at
// initialisation and decrypts it at every start, with a key that lives
// outside the storage (a static key, another server's transit key).
type Wrapper interface {
	// Type is the seal's name in sys/seal-status ("static", "transit").
	Type() string
	// Encrypt wraps plaintext; the result is stored as it is.
	Encrypt(ctx context.Context, plaintext []byte) ([]byte, error)
	// Decrypt unwraps what Encrypt made. An error is either the key
	// service being unreachable (worth retrying) or a wrong key.
	Decrypt(ctx context.Context, blob []byte) ([]byte, error)
}

// Static is the "static" seal: a 32-byte AES-256-GCM key given in the
// configuration, with an optional previous key still accepted for
// decryption, so the key can be rotated.
type Static struct {
	currentID  string
	current    cipher.AEAD
	previousID string
	previous   cipher.AEAD
}

// staticBlob is a root key wrapped by Static.
type staticBlob struct {
	KeyID      string `json:"key_id"`
	Ciphertext []byte `json:"ciphertext"` // nonce || sealed
}

// StaticConfig are the static seal's settings, as written in the
// configuration.
type StaticConfig struct {
	CurrentKeyID, CurrentKey   string
	PreviousKeyID, PreviousKey string
}

// NewStatic builds the static seal, reading its keys with ParseKey.
func NewStatic(cfg StaticConfig, getenv func(string) string) (*Static, error) {
	if cfg.CurrentKeyID == "" || cfg.CurrentKey == "" {
		return nil, errors.New(`seal "static": current_key_id and current_key are required`)
	}
	s := &Static{currentID: cfg.CurrentKeyID}
	key, err := ParseKey(cfg.CurrentKey, getenv)
	if err != nil {
		return nil, fmt.Errorf(`seal "static": current_key: %w`, err)
	}
	if s.current, err = gcm(key); err != nil {
		return nil, err
	}
	if cfg.PreviousKey != "" {
		if cfg.PreviousKeyID == "" || cfg.PreviousKeyID == cfg.CurrentKeyID {
			return nil, errors.New(`seal "static": previous_key needs a previous_key_id different from current_key_id`)
		}
		key, err := ParseKey(cfg.PreviousKey, getenv)
		if err != nil {
			return nil, fmt.Errorf(`seal "static": previous_key: %w`, err)
		}
		s.previousID = cfg.PreviousKeyID
		if s.previous, err = gcm(key); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	defer clear(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Type implements Wrapper.
func (s *Static) Type() string { return "static" }

// Encrypt implements Wrapper, with the current key.
func (s *Static) Encrypt(_ context.Context, plaintext []byte) ([]byte, error) {
	nonce := make([]byte, s.current.NonceSize(), s.current.NonceSize()+len(plaintext)+s.current.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	ct := s.current.Seal(nonce, nonce, plaintext, []byte(s.currentID))
	return json.Marshal(staticBlob{KeyID: s.currentID, Ciphertext: ct})
}

// Decrypt implements Wrapper, with the key the blob names.
func (s *Static) Decrypt(_ context.Context, raw []byte) ([]byte, error) {
	var b staticBlob
	if err := json.Unmarshal(raw, &b); err != nil {
		return nil, errors.New("static seal: malformed wrapped key")
	}
	aead := s.current
	switch b.KeyID {
	case s.currentID:
	case s.previousID:
		if s.previous == nil {
			return nil, fmt.Errorf("static seal: the root key is wrapped with key %q, which is not configured", b.KeyID)
		}
		aead = s.previous
	default:
		return nil, fmt.Errorf("static seal: the root key is wrapped with key %q, which is not configured", b.KeyID)
	}
	n := aead.NonceSize()
	if len(b.Ciphertext) < n+aead.Overhead() {
		return nil, errors.New("static seal: malformed wrapped key")
	}
	pt, err := aead.Open(nil, b.Ciphertext[:n], b.Ciphertext[n:], []byte(b.KeyID))
	if err != nil {
		return nil, fmt.Errorf("static seal: key %q does not open the wrapped root key", b.KeyID)
	}
	return pt, nil
}

// Stale reports whether blob is wrapped with an older key than the
// current one, so that it should be wrapped again.
func (s *Static) Stale(raw []byte) bool {
	var b staticBlob
	return json.Unmarshal(raw, &b) == nil && b.KeyID != s.currentID
}

// maxKeyFile bounds what ParseKey reads from a file.
const maxKeyFile = 4096

// ParseKey reads a 32-byte key given as base64 or hex inline, as
// env://NAME (the variable holds base64 or hex) or as file://PATH (the
// file holds the 32 raw bytes, or base64 or hex text). Its errors never
// contain the key material.
func ParseKey(v string, getenv func(string) string) ([]byte, error) {
	var text string
	switch {
	case strings.HasPrefix(v, "env://"):
		name := strings.TrimPrefix(v, "env://")
		if name == "" {
			return nil, errors.New("env:// needs a variable name")
		}
		if getenv == nil {
			getenv = os.Getenv
		}
		text = getenv(name)
		if text == "" {
			return nil, fmt.Errorf("environment variable %s is empty or unset", name)
		}
	case strings.HasPrefix(v, "file://"):
		path := strings.TrimPrefix(v, "file://")
		raw, err := readKeyFile(path)
		if err != nil {
			return nil, err
		}
		if len(raw) == KeySize {
			return raw, nil
		}
		text = string(raw)
	default:
		text = v
	}
	return decodeKeyText(text)
}

func readKeyFile(path string) ([]byte, error) {
	if path == "" {
		return nil, errors.New("file:// needs a path")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	if len(raw) > maxKeyFile {
		return nil, fmt.Errorf("key file %s is too large for a key", path)
	}
	return raw, nil
}

func decodeKeyText(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	var key []byte
	if len(text) == 2*KeySize {
		if b, err := hex.DecodeString(text); err == nil {
			key = b
		}
	}
	if key == nil {
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			if b, err = base64.RawStdEncoding.DecodeString(text); err != nil {
				return nil, errors.New("the key is neither base64 nor hex")
			}
		}
		key = b
	}
	if len(key) != KeySize {
		clear(key)
		return nil, fmt.Errorf("the key must be %d bytes, got %d", KeySize, len(key))
	}
	return key, nil
}
