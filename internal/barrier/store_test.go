package barrier

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	b, _ := newUnsealed(t)
	tests := map[string][]byte{
		"empty value":  {},
		"nil value":    nil,
		"short string": []byte("hello"),
		"binary":       {0, 1, 2, 0xFF, 0xFE},
		"64 KiB":       bytes.Repeat([]byte("0123456789abcdef"), 4096),
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			key := "logical/mount/" + strings.ReplaceAll(name, " ", "-")
			if err := b.Put(ctx, &storage.Entry{Key: key, Value: value}); err != nil {
				t.Fatalf("Put: %v", err)
			}
			e, err := b.Get(ctx, key)
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if e.Key != key || !bytes.Equal(e.Value, value) || e.Value == nil {
				t.Errorf("Get = {%q, %q}, want {%q, %q} (non-nil)", e.Key, e.Value, key, value)
			}
		})
	}

	if _, err := b.Get(ctx, "missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get missing: %v, want storage.ErrNotFound", err)
	}
	if err := b.Delete(ctx, "logical/mount/binary"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Get(ctx, "logical/mount/binary"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want storage.ErrNotFound", err)
	}
	if err := b.Delete(ctx, "missing"); err != nil {
		t.Errorf("Delete missing: %v", err)
	}
}

func TestList(t *testing.T) {
	ctx := context.Background()
	b, under := newUnsealed(t)
	for _, k := range []string{"app/a", "app/b", "app/sub/c", "other"} {
		if err := b.Put(ctx, &storage.Entry{Key: k, Value: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, prefix := range []string{"", "app/", "app/sub/", "none/"} {
		got, err := b.List(ctx, prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		want, _ := under.List(ctx, prefix)
		if !slices.Equal(got, want) {
			t.Errorf("List(%q) = %q, underlying store has %q", prefix, got, want)
		}
	}
	got, _ := b.List(ctx, "app/")
	if want := []string{"a", "b", "sub/"}; !slices.Equal(got, want) {
		t.Errorf("List(app/) = %q, want %q", got, want)
	}
}

func TestUpdate(t *testing.T) {
	ctx := context.Background()
	b, under := newUnsealed(t)
	err := b.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(ctx, &storage.Entry{Key: "t/a", Value: []byte("one")}); err != nil {
			return err
		}
		e, err := tx.Get(ctx, "t/a")
		if err != nil {
			return err
		}
		if string(e.Value) != "one" {
			t.Errorf("read own write = %q", e.Value)
		}
		names, err := tx.List(ctx, "t/")
		if err != nil {
			return err
		}
		if !slices.Equal(names, []string{"a"}) {
			t.Errorf("List in tx = %q", names)
		}
		return tx.Delete(ctx, "t/none")
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if e, err := b.Get(ctx, "t/a"); err != nil || string(e.Value) != "one" {
		t.Fatalf("Get after Update = %v, %v", e, err)
	}
	raw, _ := under.Get(ctx, "t/a")
	if bytes.Contains(raw.Value, []byte("one")) {
		t.Error("Update wrote plaintext to the underlying store")
	}

	boom := errors.New("boom")
	err = b.Update(ctx, func(tx storage.Tx) error {
		if err := tx.Put(ctx, &storage.Entry{Key: "t/b", Value: []byte("two")}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("failing Update: %v, want boom", err)
	}
	if _, err := b.Get(ctx, "t/b"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("rolled-back write is visible: %v", err)
	}
}

func TestReservedKeys(t *testing.T) {
	ctx := context.Background()
	b, under := newUnsealed(t)
	before, _ := under.Get(ctx, keyringKey)
	ops := map[string]func() error{
		"Put keyring":    func() error { return b.Put(ctx, &storage.Entry{Key: keyringKey, Value: []byte("x")}) },
		"Put other":      func() error { return b.Put(ctx, &storage.Entry{Key: "barrier/other", Value: []byte("x")}) },
		"Delete keyring": func() error { return b.Delete(ctx, keyringKey) },
		"Get keyring":    func() error { _, err := b.Get(ctx, keyringKey); return err },
		"Update Put": func() error {
			return b.Update(ctx, func(tx storage.Tx) error {
				return tx.Put(ctx, &storage.Entry{Key: keyringKey, Value: []byte("x")})
			})
		},
		"Update Delete": func() error {
			return b.Update(ctx, func(tx storage.Tx) error { return tx.Delete(ctx, keyringKey) })
		},
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			if err := op(); !errors.Is(err, ErrReservedKey) {
				t.Errorf("%s: %v, want ErrReservedKey", name, err)
			}
		})
	}
	after, err := under.Get(ctx, keyringKey)
	if err != nil || !bytes.Equal(before.Value, after.Value) {
		t.Fatalf("keyring changed: %v", err)
	}
	// Similar-looking keys outside the prefix are ordinary.
	if err := b.Put(ctx, &storage.Entry{Key: "barrier", Value: []byte("x")}); err != nil {
		t.Errorf("Put %q: %v", "barrier", err)
	}
}

// TestNoPlaintextBelow greps every raw value in the underlying store for
// the plaintexts written and for the data and root keys in any encoding.
func TestNoPlaintextBelow(t *testing.T) {
	ctx := context.Background()
	b, under := newUnsealed(t)
	secrets := [][]byte{
		[]byte("correct horse battery staple"),
		[]byte(`{"password":"hunter2-hunter2"}`),
		bytes.Repeat([]byte("Z"), 4096),
	}
	for i, s := range secrets {
		if err := b.Put(ctx, &storage.Entry{Key: "logical/kv/" + string(rune('a'+i)), Value: s}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	ring, _ := b.keys()
	for _, term := range ring.terms {
		secrets = append(secrets, term.key, []byte(base64.StdEncoding.EncodeToString(term.key)))
	}
	secrets = append(secrets, testRootKey, []byte("install_time"), []byte(`"terms"`))

	for _, key := range allKeys(t, under, "") {
		e, err := under.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			probe := s[:min(len(s), 16)]
			if bytes.Contains(e.Value, probe) {
				t.Errorf("raw value of %q contains %q", key, probe)
			}
		}
	}
}

// allKeys lists every key below prefix in s.
func allKeys(t *testing.T, s *inmem.Store, prefix string) []string {
	t.Helper()
	names, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			keys = append(keys, allKeys(t, s, prefix+n)...)
		} else {
			keys = append(keys, prefix+n)
		}
	}
	return keys
}
