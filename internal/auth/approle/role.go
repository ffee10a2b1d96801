package approle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/auth/tokenfields"
	"github.com/tresorhq/tresor/internal/storage"
)

// Storage prefixes of roles and of the role ID index.
const (
	rolePrefix   = "role/"
	roleIDPrefix = "role_id/" // HMAC of a role ID → roleIDEntry
)

// role is a stored role.
type role struct {
	Name               string        `json:"name"`
	RoleID             string        `json:"role_id"`
	BindSecretID       bool          `json:"bind_secret_id"`
	SecretIDBoundCIDRs []string      `json:"secret_id_bound_cidrs,omitempty"`
	SecretIDNumUses    int           `json:"secret_id_num_uses,omitempty"`
	SecretIDTTL        time.Duration `json:"secret_id_ttl,omitempty"`
	LocalSecretIDs     bool          `json:"local_secret_ids,omitempty"`
	tokenfields.Fields
}

// roleIDEntry maps a role ID to the role's name.
type roleIDEntry struct {
	Name string `json:"name"`
}

// normalize is the canonical form of a role name: trimmed, lower-case, as
// Vault treats role names case-insensitively.
func normalize(name string) string {
	return strings.ToLower(strings.TrimSpace(name))
}

func loadRole(ctx context.Context, r storage.Reader, name string) (*role, error) {
	ro := new(role)
	ok, err := getJSON(ctx, r, rolePrefix+name, ro)
	if !ok {
		return nil, err
	}
	return ro, nil
}

// getJSON decodes the entry under key into v; ok is false when there is
// none.
func getJSON(ctx context.Context, r storage.Reader, key string, v any) (ok bool, err error) {
	e, err := r.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value, v); err != nil {
		return false, fmt.Errorf("decode %s: %w", key, err)
	}
	return true, nil
}

func putJSON(ctx context.Context, w storage.Writer, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	if err := w.Put(ctx, &storage.Entry{Key: key, Value: data}); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

func deleteKey(ctx context.Context, w storage.Writer, key string) error {
	if err := w.Delete(ctx, key); err != nil {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
