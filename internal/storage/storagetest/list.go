package storagetest

import (
	"testing"

	"github.com/tresorhq/tresor/internal/storage"
)

// listKeys is the tree the List cases read.
var listKeys = []string{
	"a",
	"b/c",
	"b/d/e",
	"b/d/f",
	"ba",
	"b-c",
	"foo/bar/baz",
	"foo/qux",
	"z z/ünï",
}

func testList(t *testing.T, newStore func(t *testing.T) storage.Store) {
	cases := map[string]struct {
		prefix string
		want   []string
	}{
		"empty prefix lists the top level": {"", []string{"a", "b-c", "b/", "ba", "foo/", "z z/"}},
		"folder lists direct children":     {"b/", []string{"c", "d/"}},
		"nested folder":                    {"b/d/", []string{"e", "f"}},
		"folder of folders":                {"foo/", []string{"bar/", "qux"}},
		"unicode and spaces":               {"z z/", []string{"ünï"}},
		"missing folder is empty":          {"nope/", nil},
		"leaf used as folder is empty":     {"a/", nil},
		"raw prefix matches inside names":  {"fo", []string{"o/"}},
		"raw prefix splits at the slash":   {"b", []string{"-c", "/", "a"}},
	}
	s := newStore(t)
	for _, k := range listKeys {
		mustPut(t, s, k, []byte(k))
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			if got := mustList(t, s, tc.prefix); !equalNames(got, tc.want) {
				t.Fatalf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		})
	}

	t.Run("folder disappears with its last entry", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "x/y/z", []byte("1"))
		mustPut(t, s, "x/w", []byte("2"))
		for _, k := range []string{"x/y/z", "x/w"} {
			if err := s.Delete(t.Context(), k); err != nil {
				t.Fatalf("Delete(%q): %v", k, err)
			}
		}
		for _, prefix := range []string{"", "x/", "x/y/"} {
			if got := mustList(t, s, prefix); len(got) != 0 {
				t.Fatalf("List(%q) after deleting everything = %q, want empty", prefix, got)
			}
		}
	})
	t.Run("folder survives while it has entries", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, "x/1", []byte("1"))
		mustPut(t, s, "x/2", []byte("2"))
		if err := s.Delete(t.Context(), "x/1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if got := mustList(t, s, ""); !equalNames(got, []string{"x/"}) {
			t.Fatalf("List(\"\") = %q, want [x/]", got)
		}
	})
	t.Run("large folder is sorted and listed once", func(t *testing.T) {
		s := newStore(t)
		want := make([]string, 0, 50)
		err := s.Update(t.Context(), func(tx storage.Tx) error {
			// Written in reverse so a backend that merely keeps insertion
			// order fails.
			for i := 49; i >= 0; i-- {
				name := string(rune('a'+i%26)) + string(rune('a'+i/26))
				for _, sub := range []string{"/1", "/2", ""} {
					if err := tx.Put(t.Context(), &storage.Entry{Key: "big/" + name + sub}); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		for c := 'a'; c <= 'z'; c++ {
			for _, second := range []rune{'a', 'b'} {
				if second == 'b' && c > 'x' {
					continue
				}
				name := string(c) + string(second)
				want = append(want, name, name+"/")
			}
		}
		if got := mustList(t, s, "big/"); !equalNames(got, want) {
			t.Fatalf("List(big/) = %q,\nwant %q", got, want)
		}
	})
}
