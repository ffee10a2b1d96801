package storagetest

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

func testGet(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("missing key returns ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		wantMissing(t, s, "nope")
		wantMissing(t, s, "a/b/c")
	})
	t.Run("returned value is a copy", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "k", []byte("value"))
		v := mustGet(t, s, "k")
		v[0] = 'X'
		if got := mustGet(t, s, "k"); string(got) != "value" {
			t.Fatalf("mutating a returned value changed the store: %q", got)
		}
	})
}

func testPut(t *testing.T, newStore func(t *testing.T) storage.Store) {
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	large := make([]byte, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range large {
		large[i] = byte(rng.Uint32())
	}
	roundTrips := map[string]struct {
		key   string
		value []byte
	}{
		"text":                  {"text", []byte("hello")},
		"every byte value":      {"bin", binary},
		"empty value":           {"empty", []byte{}},
		"nil value reads empty": {"nil", nil},
		"one MiB value":         {"large", large},
		"nested key":            {"logical/3f2a/app/db", []byte("x")},
		"unicode key":           {"ünïcödé/日本語/ключ", []byte("u")},
		"key with spaces":       {"with space/a key", []byte("s")},
		"dot-dot segments":      {"a/../b", []byte("d")},
	}
	for name, tc := range roundTrips {
		t.Run("round trip "+name, func(t *testing.T) {
			s := newStore(t)
			mustPut(t, s, tc.key, tc.value)
			if got := mustGet(t, s, tc.key); !bytes.Equal(got, tc.value) {
				t.Fatalf("Get(%q) returned %d bytes, want %d (equal content)", tc.key, len(got), len(tc.value))
			}
		})
	}
	t.Run("overwrite replaces the value", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "k", []byte("a much longer first value"))
		mustPut(t, s, "k", []byte("second"))
		if got := mustGet(t, s, "k"); string(got) != "second" {
			t.Fatalf("Get after overwrite = %q, want %q", got, "second")
		}
		if got := mustList(t, s, ""); !equalNames(got, []string{"k"}) {
			t.Fatalf("List after overwrite = %q, want [k]", got)
		}
	})
	t.Run("stored value is a copy", func(t *testing.T) {
		s := newStore(t)
		v := []byte("value")
		mustPut(t, s, "k", v)
		v[0] = 'X'
		if got := mustGet(t, s, "k"); string(got) != "value" {
			t.Fatalf("mutating the caller's buffer after Put changed the store: %q", got)
		}
	})
}

func testDelete(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("removes the key", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "a/b", []byte("1"))
		mustPut(t, s, "a/c", []byte("2"))
		if err := s.Delete(t.Context(), "a/b"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantMissing(t, s, "a/b")
		if got := mustGet(t, s, "a/c"); string(got) != "2" {
			t.Fatalf("Delete removed a sibling: Get(a/c) = %q", got)
		}
	})
	t.Run("missing key is no error", func(t *testing.T) {
		s := newStore(t)
		if err := s.Delete(t.Context(), "never/written"); err != nil {
			t.Fatalf("Delete of a missing key: %v", err)
		}
	})
	t.Run("put after delete", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "k", []byte("1"))
		if err := s.Delete(t.Context(), "k"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		mustPut(t, s, "k", []byte("2"))
		if got := mustGet(t, s, "k"); string(got) != "2" {
			t.Fatalf("Get = %q, want 2", got)
		}
	})
}
