package storage_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/inmem"
	"github.com/tresorhq/tresor/internal/storage/storagetest"
)

func TestViewConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		under := inmem.New()
		// Neighbours the view must never show.
		for _, k := range []string{"outside", "mount", "mount0", "mounted/x", "other/mount/x"} {
			if err := under.Put(t.Context(), &storage.Entry{Key: k, Value: []byte("n")}); err != nil {
				t.Fatal(err)
			}
		}
		return storage.NewView(under, "mount/")
	})
}

func TestViewNestedConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return storage.NewView(storage.NewView(inmem.New(), "logical/"), "3f2a/")
	})
}

func TestViewIsolation(t *testing.T) {
	seed := map[string]string{
		"secret":      "s",
		"app/inside":  "i",
		"app2/x":      "sibling",
		"appx":        "raw-prefix neighbour",
		"app/../evil": "stored under app/",
	}
	cases := map[string]struct {
		run func(t *testing.T, v storage.Reader, w storage.Writer)
	}{
		"get does not escape with dot-dot": {func(t *testing.T, v storage.Reader, _ storage.Writer) {
			for _, k := range []string{"../secret", "/../secret", "../app2/x", "x", "2/x"} {
				if _, err := v.Get(t.Context(), k); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("Get(%q) through the view = %v, want ErrNotFound", k, err)
				}
			}
		}},
		"dot-dot is a literal key inside the view": {func(t *testing.T, v storage.Reader, _ storage.Writer) {
			e, err := v.Get(t.Context(), "../evil")
			if err != nil || string(e.Value) != "stored under app/" || e.Key != "../evil" {
				t.Errorf("Get(../evil) = %+v, %v; want the entry stored at app/../evil", e, err)
			}
		}},
		"list shows only the view's keys": {func(t *testing.T, v storage.Reader, _ storage.Writer) {
			got, err := v.List(t.Context(), "")
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"../", "inside"}; !slices.Equal(got, want) {
				t.Errorf("List(\"\") = %q, want %q", got, want)
			}
			got, err = v.List(t.Context(), "../")
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"evil"}; !slices.Equal(got, want) {
				t.Errorf("List(../) = %q, want %q", got, want)
			}
		}},
		"put and delete stay inside": {func(t *testing.T, _ storage.Reader, w storage.Writer) {
			if err := w.Put(t.Context(), &storage.Entry{Key: "../secret", Value: []byte("overwritten")}); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"../../secret", "../app2/x", "2/x"} {
				if err := w.Delete(t.Context(), k); err != nil {
					t.Fatal(err)
				}
			}
		}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Run("store", func(t *testing.T) {
				under, v := newIsolationStore(t, seed)
				tc.run(t, v, v)
				checkOutside(t, under, seed)
			})
			t.Run("transaction", func(t *testing.T) {
				under, v := newIsolationStore(t, seed)
				err := v.Update(t.Context(), func(tx storage.Tx) error {
					tc.run(t, tx, tx)
					return nil
				})
				if err != nil {
					t.Fatalf("Update: %v", err)
				}
				checkOutside(t, under, seed)
			})
			t.Run("TxView", func(t *testing.T) {
				under, _ := newIsolationStore(t, seed)
				err := under.Update(t.Context(), func(tx storage.Tx) error {
					v := storage.TxView(tx, "app/")
					tc.run(t, v, v)
					return nil
				})
				if err != nil {
					t.Fatalf("Update: %v", err)
				}
				checkOutside(t, under, seed)
			})
		})
	}
}

// TestTxViewSharesTransaction checks what sys/kv/move relies on: two views
// of one transaction commit together or not at all.
func TestTxViewSharesTransaction(t *testing.T) {
	errAbort := errors.New("abort")
	tests := map[string]struct {
		fail     error
		wantSrc  bool // "a/k" still exists afterwards
		wantDest bool // "b/k" exists afterwards
	}{
		"commit moves the key":  {fail: nil, wantSrc: false, wantDest: true},
		"rollback keeps source": {fail: errAbort, wantSrc: true, wantDest: false},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			under := inmem.New()
			if err := under.Put(t.Context(), &storage.Entry{Key: "a/k", Value: []byte("v")}); err != nil {
				t.Fatal(err)
			}
			err := under.Update(t.Context(), func(tx storage.Tx) error {
				src, dst := storage.TxView(tx, "a/"), storage.TxView(tx, "b/")
				e, err := src.Get(t.Context(), "k")
				if err != nil {
					return err
				}
				if e.Key != "k" {
					t.Errorf("Get through TxView: Key = %q, want %q", e.Key, "k")
				}
				if err := dst.Put(t.Context(), &storage.Entry{Key: "k", Value: e.Value}); err != nil {
					return err
				}
				if err := src.Delete(t.Context(), "k"); err != nil {
					return err
				}
				if names, err := dst.List(t.Context(), ""); err != nil || !slices.Equal(names, []string{"k"}) {
					t.Errorf("List through TxView = %q, %v; want [k]", names, err)
				}
				return tt.fail
			})
			if !errors.Is(err, tt.fail) {
				t.Fatalf("Update = %v, want %v", err, tt.fail)
			}
			for key, want := range map[string]bool{"a/k": tt.wantSrc, "b/k": tt.wantDest} {
				_, err := under.Get(t.Context(), key)
				if got := err == nil; got != want {
					t.Errorf("%s exists = %v (%v), want %v", key, got, err, want)
				}
			}
		})
	}
}

func TestViewPrefixMustEndInSlash(t *testing.T) {
	for _, prefix := range []string{"", "app", "app/x"} {
		t.Run(prefix, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewView(%q) did not panic", prefix)
				}
			}()
			storage.NewView(inmem.New(), prefix)
		})
		t.Run("TxView "+prefix, func(t *testing.T) {
			err := inmem.New().Update(t.Context(), func(tx storage.Tx) error {
				defer func() {
					if recover() == nil {
						t.Errorf("TxView(%q) did not panic", prefix)
					}
				}()
				storage.TxView(tx, prefix)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func newIsolationStore(t *testing.T, seed map[string]string) (storage.Store, storage.Store) {
	t.Helper()
	under := inmem.New()
	for k, v := range seed {
		if err := under.Put(t.Context(), &storage.Entry{Key: k, Value: []byte(v)}); err != nil {
			t.Fatal(err)
		}
	}
	return under, storage.NewView(under, "app/")
}

// checkOutside fails unless every seeded key outside "app/" is unchanged.
func checkOutside(t *testing.T, under storage.Store, seed map[string]string) {
	t.Helper()
	for _, k := range []string{"secret", "app2/x", "appx"} {
		e, err := under.Get(t.Context(), k)
		if err != nil || string(e.Value) != seed[k] {
			t.Errorf("key %q outside the view changed: %+v, %v", k, e, err)
		}
	}
	top, err := under.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"app/", "app2/", "appx", "secret"}; !slices.Equal(top, want) {
		t.Errorf("top level of the underlying store = %q, want %q", top, want)
	}
}
