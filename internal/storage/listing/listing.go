// Package listing answers storage.Store's List from a bbolt bucket, for the
// two backends that keep their data in one (bolt, and raft's state
// machine): the names directly below a prefix, sorted, each folder once
// with a trailing "/", optionally merged with a transaction's buffered
// writes.
package listing

import (
	"bytes"
	"slices"
	"strings"

	"go.etcd.io/bbolt"
)

// List returns the names directly below prefix in b. After a folder it
// seeks past the folder's subtree, so the cost grows with the number of
// names, not of keys below them.
func List(b *bbolt.Bucket, prefix string) []string {
	names := []string{}
	p := []byte(prefix)
	c := b.Cursor()
	for k, _ := c.Seek(p); k != nil && bytes.HasPrefix(k, p); {
		name := childName(string(k[len(p):]))
		names = append(names, name)
		if !strings.HasSuffix(name, "/") {
			k, _ = c.Next()
			continue
		}
		// Every key below prefix+name sorts before prefix+name with its
		// "/" replaced by "0", the next byte.
		next := append([]byte(prefix+name[:len(name)-1]), '/'+1)
		k, _ = c.Seek(next)
	}
	return names
}

// Pending is a transaction's buffered writes, not yet in the bucket.
type Pending interface {
	// Lookup reports whether key has a buffered write, and whether that
	// write deletes it.
	Lookup(key string) (buffered, deleted bool)
	// Each calls fn for every buffered write.
	Each(fn func(key string, deleted bool))
}

// ListPending is List as a transaction with the buffered writes p sees it:
// written keys appear, deleted ones vanish, and so does a folder whose
// every key is deleted.
func ListPending(b *bbolt.Bucket, prefix string, p Pending) []string {
	names := List(b, prefix)
	touched := false
	p.Each(func(k string, _ bool) { touched = touched || strings.HasPrefix(k, prefix) })
	if !touched {
		return names
	}
	// Rare path: merge the buffered writes into the committed names.
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if alive(b, prefix+n, p) {
			seen[n] = true
		}
	}
	p.Each(func(k string, deleted bool) {
		if !deleted && strings.HasPrefix(k, prefix) && len(k) > len(prefix) {
			seen[childName(k[len(prefix):])] = true
		}
	})
	merged := make([]string, 0, len(seen))
	for n := range seen {
		merged = append(merged, n)
	}
	slices.Sort(merged)
	return merged
}

// alive reports whether name (a key, or a folder ending in "/") from the
// committed listing survives the buffered deletes.
func alive(b *bbolt.Bucket, name string, p Pending) bool {
	if !strings.HasSuffix(name, "/") {
		_, deleted := p.Lookup(name)
		return !deleted
	}
	pre := []byte(name)
	c := b.Cursor()
	for k, _ := c.Seek(pre); k != nil && bytes.HasPrefix(k, pre); k, _ = c.Next() {
		if _, deleted := p.Lookup(string(k)); !deleted {
			return true
		}
	}
	return false
}

// childName is rest up to and including its first "/": the name List shows
// for a key whose remainder below the prefix is rest.
func childName(rest string) string {
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i+1]
	}
	return rest
}
