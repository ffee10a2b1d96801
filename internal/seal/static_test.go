package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestParseKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, KeySize)
	dir := t.TempDir()
	raw := filepath.Join(dir, "raw")
	text := filepath.Join(dir, "text")
	big := filepath.Join(dir, "big")
	_ = os.WriteFile(raw, key, 0o600)
	_ = os.WriteFile(text, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600)
	_ = os.WriteFile(big, bytes.Repeat([]byte("A"), maxKeyFile+10), 0o600)
	env := map[string]string{"K": hex.EncodeToString(key), "SHORT": base64.StdEncoding.EncodeToString(key[:16])}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name, in string
		wantErr  string
	}{
		{"base64 inline", base64.StdEncoding.EncodeToString(key), ""},
		{"unpadded base64", base64.RawStdEncoding.EncodeToString(key), ""},
		{"hex inline", hex.EncodeToString(key), ""},
		{"env", "env://K", ""},
		{"raw file", "file://" + raw, ""},
		{"text file", "file://" + text, ""},
		{"short key", "env://SHORT", "must be 32 bytes"},
		{"unset env", "env://NOPE", "empty or unset"},
		{"empty env name", "env://", "variable name"},
		{"missing file", "file://" + filepath.Join(dir, "none"), "key file"},
		{"huge file", "file://" + big, "too large"},
		{"garbage", "not a key!", "neither base64 nor hex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKey(tc.in, getenv)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), env["K"]) {
					t.Fatal("error text carries key material")
				}
				return
			}
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("got %x, %v", got, err)
			}
		})
	}
}

func TestStaticWrapAndRotate(t *testing.T) {
	ctx := context.Background()
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize))
	k2 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{2}, KeySize))
	old, err := NewStatic(StaticConfig{CurrentKeyID: "k1", CurrentKey: k1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := old.Encrypt(ctx, []byte("root key"))
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewStatic(StaticConfig{CurrentKeyID: "k2", CurrentKey: k2, PreviousKeyID: "k1", PreviousKey: k1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := rotated.Decrypt(ctx, blob); err != nil || string(pt) != "root key" || !rotated.Stale(blob) {
		t.Fatalf("previous key: %q, %v", pt, err)
	}
	only2, _ := NewStatic(StaticConfig{CurrentKeyID: "k2", CurrentKey: k2}, nil)
	if _, err := only2.Decrypt(ctx, blob); err == nil {
		t.Fatal("decrypted without the key it was wrapped with")
	}
	// Same ID, different key: refused.
	wrong, _ := NewStatic(StaticConfig{CurrentKeyID: "k1", CurrentKey: k2}, nil)
	if _, err := wrong.Decrypt(ctx, blob); err == nil {
		t.Fatal("a wrong key opened the blob")
	}
	for _, cfg := range []StaticConfig{{}, {CurrentKeyID: "a"}, {CurrentKeyID: "a", CurrentKey: k1, PreviousKey: k2}, {CurrentKeyID: "a", CurrentKey: k1, PreviousKeyID: "a", PreviousKey: k2}} {
		if _, err := NewStatic(cfg, nil); err == nil {
			t.Errorf("NewStatic(%+v) accepted", cfg)
		}
	}
}

// TestAutoSeal: with a Wrapper the shares are recovery shares; they make
// no root key by themselves but prove a quorum, and the root key comes
// from the Wrapper.
func TestAutoSeal(t *testing.T) {
	ctx := context.Background()
	w, _ := NewStatic(StaticConfig{CurrentKeyID: "k", CurrentKey: base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3}, KeySize))}, nil)
	store := inmem.New()
	s := NewAuto(store, w)
	root := bytes.Repeat([]byte{9}, KeySize)
	shares, err := s.Initialize(ctx, Config{SecretShares: 3, SecretThreshold: 2}, root)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := s.Config(ctx)
	if cfg.Type != "static" || !cfg.Recovery {
		t.Fatalf("config %+v", cfg)
	}
	if got, err := s.AutoRootKey(ctx); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("AutoRootKey: %v", err)
	}
	if _, err := store.Get(ctx, rootKeyKey); err == nil {
		t.Fatal("the root key is stored under the recovery key")
	}
	if got, err := s.Submit(ctx, shares[0]); err != nil || got != nil {
		t.Fatal(err)
	}
	if got, err := s.Submit(ctx, shares[2]); err != nil || !bytes.Equal(got, root) {
		t.Fatalf("recovery quorum: %v", err)
	}
	bad := bytes.Repeat([]byte{5}, KeySize+1)
	_, _ = s.Submit(ctx, shares[0])
	if _, err := s.Submit(ctx, bad); err == nil {
		t.Fatal("a bogus recovery share was accepted")
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add("env://K")
	f.Add("file:///nonexistent")
	f.Add(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, KeySize)))
	f.Add(strings.Repeat("ab", KeySize))
	f.Add("====")
	f.Fuzz(func(t *testing.T, v string) {
		if strings.HasPrefix(v, "file://") {
			return // no reading of arbitrary files from a fuzzer
		}
		key, err := ParseKey(v, func(string) string { return v })
		if err == nil && len(key) != KeySize {
			t.Fatalf("accepted a key of %d bytes", len(key))
		}
	})
}
