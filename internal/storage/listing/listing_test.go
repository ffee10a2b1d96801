package listing

import (
	"path/filepath"
	"slices"
	"testing"

	"go.etcd.io/bbolt"
)

// pending is a map of buffered writes: true deletes.
type pending map[string]bool

func (p pending) Lookup(key string) (bool, bool) { d, ok := p[key]; return ok, d }
func (p pending) Each(fn func(string, bool)) {
	for k, d := range p {
		fn(k, d)
	}
}

func TestList(t *testing.T) {
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "l.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	committed := []string{"a", "b/1", "b/2", "b/c/3", "b0", "d/x", "e"}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket([]byte("k"))
		for _, k := range committed {
			if err == nil {
				err = b.Put([]byte(k), []byte("v"))
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		prefix string
		p      pending
		want   []string
	}{
		"root":                     {"", nil, []string{"a", "b/", "b0", "d/", "e"}},
		"folder":                   {"b/", nil, []string{"1", "2", "c/"}},
		"missing":                  {"zz/", nil, []string{}},
		"put new key and folder":   {"", pending{"c": false, "f/g": false}, []string{"a", "b/", "b0", "c", "d/", "e", "f/"}},
		"delete key":               {"", pending{"a": true}, []string{"b/", "b0", "d/", "e"}},
		"emptied folder vanishes":  {"", pending{"d/x": true}, []string{"a", "b/", "b0", "e"}},
		"partly emptied folder":    {"b/", pending{"1": true, "b/1": true, "b/c/3": true}, []string{"2"}},
		"refilled folder stays":    {"", pending{"d/x": true, "d/y": false}, []string{"a", "b/", "b0", "d/", "e"}},
		"writes elsewhere ignored": {"b/", pending{"a": true, "z/q": false}, []string{"1", "2", "c/"}},
		"delete missing key":       {"", pending{"nope": true}, []string{"a", "b/", "b0", "d/", "e"}},
	} {
		t.Run(name, func(t *testing.T) {
			var got []string
			_ = db.View(func(tx *bbolt.Tx) error {
				got = ListPending(tx.Bucket([]byte("k")), tc.prefix, tc.p)
				return nil
			})
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
