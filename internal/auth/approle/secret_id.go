package approle

import (
	"context"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
)

// Storage prefixes of secret IDs and their accessors. Secret IDs live
// below their role's name, keyed by their HMAC; accessors, keyed by their
// own HMAC, point back to role and secret ID.
const (
	secretIDPrefix = "secret_id/" // secret_id/<role>/<HMAC of secret ID> → secretID
	accessorPrefix = "accessor/"  // accessor/<HMAC of accessor> → accessorEntry
)

// secretID is a stored secret ID; the ID itself is only in the key, as an
// HMAC.
type secretID struct {
	Accessor        string            `json:"secret_id_accessor"`
	NumUses         int               `json:"secret_id_num_uses"`
	TTL             time.Duration     `json:"secret_id_ttl"`
	CreationTime    time.Time         `json:"creation_time"`
	ExpirationTime  time.Time         `json:"expiration_time"`
	LastUpdatedTime time.Time         `json:"last_updated_time"`
	Metadata        map[string]string `json:"metadata,omitempty"`
	CIDRList        []string          `json:"cidr_list,omitempty"`
	TokenBoundCIDRs []string          `json:"token_bound_cidrs,omitempty"`
}

// accessorEntry resolves an accessor to its secret ID.
type accessorEntry struct {
	Role         string `json:"role"`
	SecretIDHMAC string `json:"secret_id_hmac"`
}

func secretKey(roleName, secretHMAC string) string {
	return secretIDPrefix + roleName + "/" + secretHMAC
}

// expired reports whether s has expired at now.
func (s *secretID) expired(now time.Time) bool {
	return !s.ExpirationTime.IsZero() && !now.Before(s.ExpirationTime)
}

// data is the lookup form of s.
func (s *secretID) data() map[string]any {
	meta := s.Metadata
	if meta == nil {
		meta = map[string]string{}
	}
	return map[string]any{
		"secret_id_accessor": s.Accessor,
		"secret_id_num_uses": s.NumUses,
		"secret_id_ttl":      int64(s.TTL / time.Second),
		"creation_time":      s.CreationTime.Format(time.RFC3339Nano),
		"expiration_time":    s.ExpirationTime.Format(time.RFC3339Nano),
		"last_updated_time":  s.LastUpdatedTime.Format(time.RFC3339Nano),
		"metadata":           meta,
		"cidr_list":          nonNil(s.CIDRList),
		"token_bound_cidrs":  nonNil(s.TokenBoundCIDRs),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// deleteSecretID removes a secret ID and its accessor in tx.
func deleteSecretID(ctx context.Context, tx storage.Tx, key, accessorHMAC string) error {
	if err := deleteKey(ctx, tx, key); err != nil {
		return err
	}
	if accessorHMAC != "" {
		return deleteKey(ctx, tx, accessorPrefix+accessorHMAC)
	}
	return nil
}

// secretIDsOf returns the storage keys of every secret ID of a role.
func secretIDsOf(ctx context.Context, r storage.Reader, roleName string) ([]string, error) {
	names, err := r.List(ctx, secretIDPrefix+roleName+"/")
	if err != nil {
		return nil, fmt.Errorf("list secret IDs: %w", err)
	}
	keys := make([]string, len(names))
	for i, n := range names {
		keys[i] = secretIDPrefix + roleName + "/" + n
	}
	return keys, nil
}
