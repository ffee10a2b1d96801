package barrier

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

// TestTamper alters a stored value in the underlying store and checks that
// reading it through the barrier gives ErrDecrypt, naming the key and
// leaking nothing of the plaintext.
func TestTamper(t *testing.T) {
	const plaintext = "the plaintext must never leak"
	tests := map[string]struct {
		readKey string // defaults to the key written
		mutate  func(v []byte) []byte
	}{
		"flipped version":    {mutate: flip(0)},
		"flipped term":       {mutate: flip(4)},
		"flipped nonce":      {mutate: flip(headerSize + 3)},
		"flipped ciphertext": {mutate: flip(prefixSize + 2)},
		"flipped tag":        {mutate: func(v []byte) []byte { v[len(v)-1] ^= 0x80; return v }},
		"unknown term":       {mutate: setTerm(99)},
		"root term":          {mutate: setTerm(rootTerm)},
		"copied to another key": {
			readKey: "secret/b",
			mutate:  func(v []byte) []byte { return v },
		},
		"truncated to nothing":      {mutate: func(v []byte) []byte { return v[:0] }},
		"truncated to header":       {mutate: func(v []byte) []byte { return v[:headerSize] }},
		"truncated to nonce":        {mutate: func(v []byte) []byte { return v[:prefixSize] }},
		"truncated by one byte":     {mutate: func(v []byte) []byte { return v[:len(v)-1] }},
		"extended by one byte":      {mutate: func(v []byte) []byte { return append(v, 0) }},
		"ciphertext of empty value": {mutate: func(v []byte) []byte { return v[:overhead] }},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b, under := newUnsealed(t)
			const key = "secret/a"
			if err := b.Put(ctx, &storage.Entry{Key: key, Value: []byte(plaintext)}); err != nil {
				t.Fatal(err)
			}
			raw, err := under.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			readKey := key
			if tc.readKey != "" {
				readKey = tc.readKey
			}
			value := tc.mutate(slices.Clone(raw.Value))
			if err := under.Put(ctx, &storage.Entry{Key: readKey, Value: value}); err != nil {
				t.Fatal(err)
			}

			e, err := b.Get(ctx, readKey)
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("Get = %v, %v; want ErrDecrypt", e, err)
			}
			if e != nil {
				t.Errorf("Get returned an entry with its error")
			}
			msg := err.Error()
			if !strings.Contains(msg, readKey) {
				t.Errorf("error %q does not name the key", msg)
			}
			if strings.Contains(msg, "plaintext") {
				t.Errorf("error %q leaks content", msg)
			}
		})
	}
}

func flip(i int) func([]byte) []byte {
	return func(v []byte) []byte { v[i] ^= 0x01; return v }
}

func setTerm(n uint32) func([]byte) []byte {
	return func(v []byte) []byte { binary.BigEndian.PutUint32(v[1:headerSize], n); return v }
}

// TestFormat pins the layout of a stored value.
func TestFormat(t *testing.T) {
	ctx := context.Background()
	b, under := newUnsealed(t)
	value := []byte("0123456789")
	if err := b.Put(ctx, &storage.Entry{Key: "k", Value: value}); err != nil {
		t.Fatal(err)
	}
	raw, _ := under.Get(ctx, "k")
	if got, want := len(raw.Value), 1+4+12+len(value)+16; got != want {
		t.Errorf("stored value is %d bytes, want %d", got, want)
	}
	if raw.Value[0] != formatVersion {
		t.Errorf("version byte = %d, want %d", raw.Value[0], formatVersion)
	}
	if got := binary.BigEndian.Uint32(raw.Value[1:5]); got != 1 {
		t.Errorf("term = %d, want 1", got)
	}
	// Two writes of the same value differ: fresh nonce each time.
	if err := b.Put(ctx, &storage.Entry{Key: "k", Value: value}); err != nil {
		t.Fatal(err)
	}
	again, _ := under.Get(ctx, "k")
	if slices.Equal(raw.Value, again.Value) {
		t.Error("rewriting a value produced identical ciphertext")
	}
}
