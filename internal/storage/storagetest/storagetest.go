// Package storagetest is the conformance suite every storage.Store runs.
//
// A backend's test calls Run with a constructor that returns a fresh, empty
// store for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) storage.Store {
//			s, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite pins the behaviour the rest of Tresor relies on: ErrNotFound for
// missing keys, Vault's List semantics (direct children only, sorted, folders
// once with a trailing "/"), all-or-nothing Update with read-your-writes inside
// the transaction, and no lost updates under concurrent transactions. It runs
// in well under two seconds against a backend that fsyncs.
package storagetest

import (
	"errors"
	"slices"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

// Run runs the whole suite. newStore is called once per subtest and must
// return an empty store; it should register its own cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Helper()
	t.Run("Get", func(t *testing.T) { testGet(t, newStore) })
	t.Run("Put", func(t *testing.T) { testPut(t, newStore) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, newStore) })
	t.Run("List", func(t *testing.T) { testList(t, newStore) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, newStore) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, newStore) })
}

// mustPut stores value under key or fails the test.
func mustPut(t *testing.T, s storage.Writer, key string, value []byte) {
	t.Helper()
	if err := s.Put(t.Context(), &storage.Entry{Key: key, Value: value}); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

// mustGet returns the value under key or fails the test.
func mustGet(t *testing.T, s storage.Reader, key string) []byte {
	t.Helper()
	e, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if e.Key != key {
		t.Fatalf("Get(%q) returned entry with key %q", key, e.Key)
	}
	return e.Value
}

// mustList returns the names below prefix or fails the test.
func mustList(t *testing.T, s storage.Reader, prefix string) []string {
	t.Helper()
	names, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return names
}

// wantMissing fails the test unless Get(key) reports storage.ErrNotFound.
func wantMissing(t *testing.T, s storage.Reader, key string) {
	t.Helper()
	e, err := s.Get(t.Context(), key)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%q) = %v, %v; want storage.ErrNotFound", key, e, err)
	}
}

// equalNames compares two List results, treating nil and empty as equal.
func equalNames(got, want []string) bool {
	return len(got) == len(want) && (len(got) == 0 || slices.Equal(got, want))
}
