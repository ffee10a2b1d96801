// Package mount owns the mount tables: which backend answers which path
// prefix, with each mount's identity (UUID, accessor), options and tunable
// configuration. Matching is by longest prefix; mount paths never overlap,
// so a path has at most one match.
package mount

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
)

// Config is a mount's tunable configuration.
type Config struct {
	DefaultLeaseTTL          time.Duration `json:"default_lease_ttl"`
	MaxLeaseTTL              time.Duration `json:"max_lease_ttl"`
	ListingVisibility        string        `json:"listing_visibility,omitempty"`
	AuditNonHMACRequestKeys  []string      `json:"audit_non_hmac_request_keys,omitempty"`
	AuditNonHMACResponseKeys []string      `json:"audit_non_hmac_response_keys,omitempty"`
}

// Entry is one mounted backend.
type Entry struct {
	Path        string            `json:"path"` // ends in "/": "secret/", "auth/token/"
	Type        string            `json:"type"`
	Description string            `json:"description"`
	UUID        string            `json:"uuid"`
	Accessor    string            `json:"accessor"`
	Options     map[string]string `json:"options,omitempty"`
	Config      Config            `json:"config"`
	Local       bool              `json:"local"`
	SealWrap    bool              `json:"seal_wrap"`
	// StoragePrefix is where the backend's private storage view starts.
	StoragePrefix string `json:"storage_prefix"`
	// Builtin mounts are created by the core and cannot be unmounted or
	// moved.
	Builtin bool `json:"builtin,omitempty"`
	// Default marks the KV mount at secret/ that initialisation creates
	// for Vault 0.x workflows; the first explicit mount at its path
	// replaces it while it holds no data.
	Default bool `json:"default,omitempty"`

	Backend logical.Backend `json:"-"`
	// View is the backend's storage view, built once at mount time.
	View storage.Store `json:"-"`
	// Special are the backend's special paths, read once at mount time.
	Special *logical.SpecialPaths `json:"-"`
}

// Clone returns a copy of e sharing its Backend.
func (e *Entry) Clone() *Entry {
	c := *e
	if e.Options != nil {
		c.Options = make(map[string]string, len(e.Options))
		for k, v := range e.Options {
			c.Options[k] = v
		}
	}
	return &c
}

// Table is a set of mounts. It is safe for concurrent use.
type Table struct {
	mu      sync.RWMutex
	entries []*Entry // sorted by path
}

// ErrPathInUse is returned by Add when the path overlaps a mount.
var ErrPathInUse = errors.New("path is already in use")

// Add mounts e. Its path must end in "/" and must neither contain nor be
// contained in an existing mount path.
func (t *Table) Add(e *Entry) error {
	if !strings.HasSuffix(e.Path, "/") || e.Path == "/" {
		return fmt.Errorf("invalid mount path %q", e.Path)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, have := range t.entries {
		if strings.HasPrefix(have.Path, e.Path) || strings.HasPrefix(e.Path, have.Path) {
			return fmt.Errorf("%w at %s", ErrPathInUse, have.Path)
		}
	}
	if e.UUID == "" {
		e.UUID = randid.UUID()
	}
	if e.Accessor == "" {
		e.Accessor = strings.ReplaceAll(e.Type, "/", "_") + "_" + randid.UUID()[:8]
	}
	t.entries = append(t.entries, e)
	sort.Slice(t.entries, func(i, j int) bool { return t.entries[i].Path < t.entries[j].Path })
	return nil
}

// Remove unmounts the entry at path and returns it.
func (t *Table) Remove(path string) (*Entry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, e := range t.entries {
		if e.Path == path {
			t.entries = append(t.entries[:i], t.entries[i+1:]...)
			return e, true
		}
	}
	return nil, false
}

// Replace swaps the entry at old.Path for e (a tune or a remount). It checks
// overlaps of e.Path against every other entry.
func (t *Table) Replace(oldPath string, e *Entry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	idx := -1
	for i, have := range t.entries {
		if have.Path == oldPath {
			idx = i
			continue
		}
		if strings.HasPrefix(have.Path, e.Path) || strings.HasPrefix(e.Path, have.Path) {
			return fmt.Errorf("%w at %s", ErrPathInUse, have.Path)
		}
	}
	if idx < 0 {
		return fmt.Errorf("no mount at %s", oldPath)
	}
	t.entries[idx] = e
	sort.Slice(t.entries, func(i, j int) bool { return t.entries[i].Path < t.entries[j].Path })
	return nil
}

// Match returns the mount that owns path and the path relative to it. A
// path equal to a mount without its trailing slash ("secret") matches it
// with an empty relative path.
func (t *Table) Match(path string) (*Entry, string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	// Binary search for the last entry <= path; with no overlaps, only it
	// can be a prefix of path.
	i := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].Path > path }) - 1
	if i >= 0 && strings.HasPrefix(path, t.entries[i].Path) {
		return t.entries[i], path[len(t.entries[i].Path):], true
	}
	dir := path + "/"
	if j := sort.Search(len(t.entries), func(i int) bool { return t.entries[i].Path >= dir }); j < len(t.entries) && t.entries[j].Path == dir {
		return t.entries[j], "", true
	}
	return nil, "", false
}

// Get returns the entry mounted exactly at path.
func (t *Table) Get(path string) (*Entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.entries {
		if e.Path == path {
			return e, true
		}
	}
	return nil, false
}

// ByAccessor returns the entry with the given accessor.
func (t *Table) ByAccessor(accessor string) (*Entry, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, e := range t.entries {
		if e.Accessor == accessor {
			return e, true
		}
	}
	return nil, false
}

// Entries returns a snapshot of the table, sorted by path.
func (t *Table) Entries() []*Entry {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]*Entry, len(t.entries))
	copy(out, t.entries)
	return out
}

// Save stores every entry under key.
func (t *Table) Save(ctx context.Context, s storage.Writer, key string) error {
	raw, err := json.Marshal(t.Entries())
	if err != nil {
		return err
	}
	if err := s.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("save mount table: %w", err)
	}
	return nil
}

// Load reads the entries stored under key; none when nothing is stored.
func Load(ctx context.Context, s storage.Store, key string) ([]*Entry, error) {
	e, err := s.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load mount table: %w", err)
	}
	var out []*Entry
	if err := json.Unmarshal(e.Value, &out); err != nil {
		return nil, fmt.Errorf("decode mount table: %w", err)
	}
	return out, nil
}
