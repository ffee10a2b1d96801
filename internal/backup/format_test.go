package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/bolt"
	"github.com/tresorhq/tresor/internal/storage/inmem"
)

// fill puts entries into s.
func fill(t testing.TB, s storage.Store, entries map[string]string) {
	t.Helper()
	for k, v := range entries {
		if err := s.Put(context.Background(), &storage.Entry{Key: k, Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
}

// dump returns everything in s.
func dump(t testing.TB, s storage.Store) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := storage.Walk(context.Background(), s, "", func(k string) error {
		e, err := s.Get(context.Background(), k)
		if err != nil {
			return err
		}
		out[k] = string(e.Value)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var sample = map[string]string{
	"barrier/keyring": "ring",
	"core/mounts":     "mounts",
	"a":               "top",
	"a-b":             "dash",
	"a/b":             "folder",
	"a/b/c":           "deep",
	"a0":              "zero",
	"empty":           "",
	"logical/x/y":     string(bytes.Repeat([]byte{0, 1, 0xff}, 300)),
}

func stores(t *testing.T) map[string]storage.Store {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "b.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return map[string]storage.Store{"inmem": inmem.New(), "bolt": db}
}

func TestRoundTrip(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			fill(t, s, sample)
			var buf bytes.Buffer
			info, err := Write(t.Context(), s, &buf)
			if err != nil {
				t.Fatal(err)
			}
			if info.Entries != len(sample) || info.Bytes != int64(buf.Len()) {
				t.Errorf("Write info = %+v, file is %d bytes with %d entries", info, buf.Len(), len(sample))
			}
			got := map[string]string{}
			rinfo, err := Read(bytes.NewReader(buf.Bytes()), func(e *storage.Entry) error {
				got[e.Key] = string(e.Value)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if rinfo != info {
				t.Errorf("Read info = %+v, want %+v", rinfo, info)
			}
			if !maps.Equal(got, sample) {
				t.Errorf("read back %v, want %v", got, sample)
			}
		})
	}
}

func TestEmptyStore(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Write(t.Context(), inmem.New(), &buf); err != nil {
		t.Fatal(err)
	}
	if info, err := Check(buf.Bytes()); err != nil || info.Entries != 0 {
		t.Errorf("Check = %+v, %v", info, err)
	}
}

// TestDamageIsCaught truncates the file at every length, flips every
// byte and appends a byte: each must fail with ErrInvalid.
func TestDamageIsCaught(t *testing.T) {
	s := inmem.New()
	fill(t, s, sample)
	var buf bytes.Buffer
	if _, err := Write(t.Context(), s, &buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for n := range len(good) {
		if _, err := Check(good[:n]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("truncated to %d of %d bytes: %v, want ErrInvalid", n, len(good), err)
		}
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x20
		if _, err := Check(bad); !errors.Is(err, ErrInvalid) {
			t.Fatalf("byte %d flipped: %v, want ErrInvalid", i, err)
		}
	}
	if _, err := Check(append(bytes.Clone(good), 0)); !errors.Is(err, ErrInvalid) {
		t.Errorf("appended byte: %v, want ErrInvalid", err)
	}
}

func TestRestore(t *testing.T) {
	for name, dst := range stores(t) {
		t.Run(name, func(t *testing.T) {
			src := inmem.New()
			fill(t, src, sample)
			var buf bytes.Buffer
			if _, err := Write(t.Context(), src, &buf); err != nil {
				t.Fatal(err)
			}
			before := map[string]string{"core/mounts": "other", "only/here": "gone after restore", "a/b/c": "old"}
			fill(t, dst, before)

			// A damaged file changes nothing.
			bad := bytes.Clone(buf.Bytes())
			bad[len(bad)/2] ^= 1
			if _, err := Restore(t.Context(), dst, bad); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Restore of a damaged file = %v, want ErrInvalid", err)
			}
			if got := dump(t, dst); !maps.Equal(got, before) {
				t.Fatalf("after a refused restore the store holds %v, want %v", got, before)
			}

			info, err := Restore(t.Context(), dst, buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if info.Entries != len(sample) {
				t.Errorf("restored %d entries, want %d", info.Entries, len(sample))
			}
			if got := dump(t, dst); !maps.Equal(got, sample) {
				t.Errorf("after restore the store holds %v, want %v", got, sample)
			}
		})
	}
}

func TestHeaderErrors(t *testing.T) {
	cases := map[string][]byte{
		"empty":       nil,
		"bad magic":   []byte("VAULTBKP\x00\x01\x00"),
		"new version": []byte("TRESORBK\x00\x02\x00"),
		"bad tag":     []byte("TRESORBK\x00\x01\x07"),
		"huge key":    []byte("TRESORBK\x00\x01\x01\xff\xff\xff\xff\x0f"),
		"varint overflow": append([]byte("TRESORBK\x00\x01\x01"),
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f),
		"non-minimal varint": []byte("TRESORBK\x00\x01\x01\x81\x00a"),
		"empty key":          []byte("TRESORBK\x00\x01\x01\x00\x00"),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Check(b); !errors.Is(err, ErrInvalid) {
				t.Errorf("Check = %v, want ErrInvalid", err)
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	s := inmem.New()
	entries := map[string]string{}
	for i := range 10000 {
		entries[fmt.Sprintf("logical/m/k%05d", i)] = string(make([]byte, 256))
	}
	fill(b, s, entries)
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if _, err := Write(b.Context(), s, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
