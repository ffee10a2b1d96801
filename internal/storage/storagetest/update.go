package storagetest

import (
	"errors"
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

var errAbort = errors.New("storagetest: abort transaction")

func testUpdate(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("commits all writes", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "old", []byte("o"))
		err := s.Update(t.Context(), func(tx storage.Tx) error {
			mustPut(t, tx, "n/1", []byte("1"))
			mustPut(t, tx, "n/2", []byte("2"))
			return tx.Delete(t.Context(), "old")
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		mustEqual(t, s, "n/1", "1")
		mustEqual(t, s, "n/2", "2")
		wantMissing(t, s, "old")
		if got := mustList(t, s, ""); !equalNames(got, []string{"n/"}) {
			t.Fatalf("List(\"\") = %q, want [n/]", got)
		}
	})
	t.Run("rolls back every write when fn fails", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "keep", []byte("k"))
		mustPut(t, s, "over", []byte("before"))
		err := s.Update(t.Context(), func(tx storage.Tx) error {
			mustPut(t, tx, "new/1", []byte("1"))
			mustPut(t, tx, "over", []byte("after"))
			if err := tx.Delete(t.Context(), "keep"); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("Update returned %v, want fn's error", err)
		}
		wantMissing(t, s, "new/1")
		mustEqual(t, s, "over", "before")
		mustEqual(t, s, "keep", "k")
		if got := mustList(t, s, ""); !equalNames(got, []string{"keep", "over"}) {
			t.Fatalf("List(\"\") after rollback = %q, want [keep over]", got)
		}
	})
	t.Run("reads see the transaction's own writes", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "dir/a", []byte("a"))
		mustPut(t, s, "dir/b", []byte("old"))
		err := s.Update(t.Context(), func(tx storage.Tx) error {
			mustPut(t, tx, "dir/b", []byte("new"))
			mustPut(t, tx, "dir/c/d", []byte("d"))
			mustPut(t, tx, "top", []byte("t"))
			mustEqual(t, tx, "dir/a", "a")
			mustEqual(t, tx, "dir/b", "new")
			mustEqual(t, tx, "dir/c/d", "d")
			if got := mustList(t, tx, "dir/"); !equalNames(got, []string{"a", "b", "c/"}) {
				t.Errorf("List(dir/) inside tx = %q, want [a b c/]", got)
			}
			if got := mustList(t, tx, ""); !equalNames(got, []string{"dir/", "top"}) {
				t.Errorf("List(\"\") inside tx = %q, want [dir/ top]", got)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	})
	t.Run("delete inside the transaction hides the key", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "gone/only", []byte("1"))
		mustPut(t, s, "dir/x", []byte("x"))
		mustPut(t, s, "dir/y", []byte("y"))
		err := s.Update(t.Context(), func(tx storage.Tx) error {
			for _, k := range []string{"gone/only", "dir/x"} {
				if err := tx.Delete(t.Context(), k); err != nil {
					return err
				}
			}
			wantMissing(t, tx, "gone/only")
			wantMissing(t, tx, "dir/x")
			if got := mustList(t, tx, ""); !equalNames(got, []string{"dir/"}) {
				t.Errorf("List(\"\") inside tx = %q, want [dir/] (emptied folder must vanish)", got)
			}
			if got := mustList(t, tx, "dir/"); !equalNames(got, []string{"y"}) {
				t.Errorf("List(dir/) inside tx = %q, want [y]", got)
			}
			// Written again after its delete, the key is back.
			mustPut(t, tx, "dir/x", []byte("again"))
			mustEqual(t, tx, "dir/x", "again")
			return nil
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		wantMissing(t, s, "gone/only")
		mustEqual(t, s, "dir/x", "again")
	})
	t.Run("read-only transaction succeeds", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "k", []byte("v"))
		err := s.Update(t.Context(), func(tx storage.Tx) error {
			mustEqual(t, tx, "k", "v")
			wantMissing(t, tx, "missing")
			return nil
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
	})
}

// mustEqual fails the test unless the value under key is want.
func mustEqual(t *testing.T, s storage.Reader, key, want string) {
	t.Helper()
	if got := mustGet(t, s, key); string(got) != want {
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}
