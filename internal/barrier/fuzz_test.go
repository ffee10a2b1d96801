package barrier

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

// FuzzTamperedRead stores a value through the barrier, replaces the stored
// ciphertext by the fuzzer's mutation of it (or moves it to another key),
// and reads it back. The only acceptable outcomes are the original
// plaintext, when the stored bytes and key are unchanged, and ErrDecrypt
// otherwise: tampered or transplanted ciphertext never authenticates and
// never yields data.
func FuzzTamperedRead(f *testing.F) {
	f.Add([]byte("a secret"), uint16(0), byte(1), false, false)
	f.Add([]byte(""), uint16(3), byte(0x80), false, false)
	f.Add([]byte("x"), uint16(20), byte(0), true, false)
	f.Add([]byte("longer secret value"), uint16(9), byte(0), false, true)
	ctx := context.Background()
	b, under := newUnsealed(f)
	f.Fuzz(func(t *testing.T, plaintext []byte, at uint16, xor byte, otherKey, truncate bool) {
		const key = "secret/fuzz"
		if err := b.Put(ctx, &storage.Entry{Key: key, Value: plaintext}); err != nil {
			t.Fatal(err)
		}
		raw, err := under.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		stored := bytes.Clone(raw.Value)
		i := int(at) % len(stored)
		stored[i] ^= xor
		if truncate {
			stored = stored[:i]
		}
		readKey := key
		if otherKey {
			readKey = "secret/other"
		}
		if err := under.Put(ctx, &storage.Entry{Key: readKey, Value: stored}); err != nil {
			t.Fatal(err)
		}
		e, err := b.Get(ctx, readKey)
		unchanged := !otherKey && !truncate && xor == 0
		switch {
		case unchanged && (err != nil || !bytes.Equal(e.Value, plaintext)):
			t.Fatalf("untouched value: got %v, %v", e, err)
		case !unchanged && !errors.Is(err, ErrDecrypt):
			t.Fatalf("tampered value (byte %d ^ %#x, other key %v, truncated %v) read as %v, %v; want ErrDecrypt", i, xor, otherKey, truncate, e, err)
		case !unchanged && e != nil:
			t.Fatal("an entry came back with the error")
		}
	})
}
