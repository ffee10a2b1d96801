package kv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Storage keys of v2 records. The leading "." segment keeps them apart from
// anything a client can name (see the package doc).
const (
	metaPrefix  = "./meta/"
	verPrefix   = "./ver/"
	configKey   = "./config"
	upgradedKey = "./upgraded"
)

func metaKey(path string) string { return metaPrefix + path }

func versionKey(path string, n int) string {
	return verPrefix + path + "/" + strconv.Itoa(n)
}

// defaultMaxVersions is how many versions a key keeps when neither the
// mount nor the key says otherwise (Vault's default).
const defaultMaxVersions = 10

// keyMeta is the metadata record of one v2 secret.
type keyMeta struct {
	Current            int                  `json:"current"`
	Oldest             int                  `json:"oldest"`
	MaxVersions        int                  `json:"max_versions,omitempty"`
	CASRequired        bool                 `json:"cas_required,omitempty"`
	DeleteVersionAfter time.Duration        `json:"delete_version_after,omitempty"`
	Custom             map[string]string    `json:"custom,omitempty"`
	Created            time.Time            `json:"created"`
	Updated            time.Time            `json:"updated"`
	Versions           map[int]*versionInfo `json:"versions"`
	// DataVersion and Data copy the current version's data into the
	// metadata record, so that reading the latest version is one storage
	// lookup and one decryption, whatever the size of the mount. The
	// version record stays the authority: records written before this
	// copy existed have none, and readers then load the version record.
	DataVersion int             `json:"data_version,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
}

// dataOf returns the copy of version n's data that meta carries, or nil.
func (m *keyMeta) dataOf(n int) json.RawMessage {
	if n == 0 || m.DataVersion != n || len(m.Data) == 0 {
		return nil
	}
	return m.Data
}

// saveMeta stores meta, first dropping its copy of a version's data when
// that version is destroyed or gone: destroyed data must not survive in
// the metadata record.
func saveMeta(ctx context.Context, w storage.Writer, path string, meta *keyMeta) error {
	if v := meta.Versions[meta.DataVersion]; v == nil || v.Destroyed {
		meta.DataVersion, meta.Data = 0, nil
	}
	key := metaKey(path)
	if err := w.Put(ctx, &storage.Entry{Key: key, Value: encodeMeta(meta)}); err != nil {
		return fmt.Errorf("write %q: %w", key, err)
	}
	return nil
}

// versionInfo is what the metadata knows of one version.
type versionInfo struct {
	Created   time.Time `json:"created"`
	Deletion  time.Time `json:"deletion,omitzero"`
	Destroyed bool      `json:"destroyed,omitempty"`
}

// deleted reports whether the version is soft-deleted at now, either
// explicitly or because its delete_version_after has passed.
func (v *versionInfo) deleted(now time.Time) bool {
	return !v.Deletion.IsZero() && !now.Before(v.Deletion)
}

// mountConfig is the v2 mount-wide configuration.
type mountConfig struct {
	MaxVersions        int           `json:"max_versions"`
	CASRequired        bool          `json:"cas_required"`
	DeleteVersionAfter time.Duration `json:"delete_version_after"`
}

// maxVersions is the number of versions meta may keep: the smaller of the
// key's and the mount's settings, where 0 means unset.
func (c *mountConfig) maxVersions(meta *keyMeta) int {
	n := c.MaxVersions
	if meta.MaxVersions > 0 && (n == 0 || meta.MaxVersions < n) {
		n = meta.MaxVersions
	}
	if n <= 0 {
		n = defaultMaxVersions
	}
	return n
}

// deleteVersionAfter is the lifetime given to new versions of meta: the
// key's setting, else the mount's; 0 means forever.
func (c *mountConfig) deleteVersionAfter(meta *keyMeta) time.Duration {
	if meta.DeleteVersionAfter > 0 {
		return meta.DeleteVersionAfter
	}
	return c.DeleteVersionAfter
}

// loadJSON decodes the record under key into dst, reporting whether it
// exists. Numbers stay json.Number so secrets round-trip exactly.
func loadJSON(ctx context.Context, r storage.Reader, key string, dst any) (bool, error) {
	e, err := r.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %q: %w", key, err)
	}
	if err := decodeJSON(e.Value, dst); err != nil {
		return false, fmt.Errorf("decode %q: %w", key, err)
	}
	return true, nil
}

// decodeJSON decodes raw into dst. Secret data (a map of arbitrary values)
// keeps its numbers as json.Number, which only a Decoder offers; typed
// records take the faster json.Unmarshal.
func decodeJSON(raw []byte, dst any) error {
	if _, data := dst.(*map[string]any); !data {
		return json.Unmarshal(raw, dst)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(dst)
}

func putJSON(ctx context.Context, w storage.Writer, key string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	if err := w.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return fmt.Errorf("write %q: %w", key, err)
	}
	return nil
}

// loadMeta returns the metadata of path, or nil when the key has none.
func loadMeta(ctx context.Context, r storage.Reader, path string) (*keyMeta, error) {
	key := metaKey(path)
	e, err := r.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", key, err)
	}
	m, err := decodeMeta(e.Value)
	if err != nil {
		return nil, fmt.Errorf("decode %q: %w", key, err)
	}
	return m, nil
}

func loadConfig(ctx context.Context, r storage.Reader) (*mountConfig, error) {
	var c mountConfig
	if _, err := loadJSON(ctx, r, configKey, &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// loadData returns the data of one version, or nil when it is gone.
func loadData(ctx context.Context, r storage.Reader, path string, n int) (map[string]any, error) {
	var data map[string]any
	ok, err := loadJSON(ctx, r, versionKey(path, n), &data)
	if !ok || err != nil {
		return nil, err
	}
	if data == nil {
		data = map[string]any{}
	}
	return data, nil
}

// validKey reports whether path can name a secret: non-empty, without
// empty, "." or ".." segments.
func validKey(path string) bool {
	if path == "" {
		return false
	}
	for seg := range strings.SplitSeq(path, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// validPrefix is validKey for list prefixes, which may be empty and end in
// "/".
func validPrefix(prefix string) bool {
	return prefix == "" || validKey(strings.TrimSuffix(prefix, "/"))
}

// errNotFound is the bare 404 Vault answers for missing secrets.
var errNotFound = &logical.Error{Kind: logical.KindNotFound}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// versionMetadata is the "metadata" object of data reads and writes.
func versionMetadata(meta *keyMeta, n int, v *versionInfo) map[string]any {
	var custom any
	if meta.Custom != nil {
		custom = meta.Custom
	}
	return map[string]any{
		"created_time":    formatTime(v.Created),
		"custom_metadata": custom,
		"deletion_time":   formatTime(v.Deletion),
		"destroyed":       v.Destroyed,
		"version":         n,
	}
}
