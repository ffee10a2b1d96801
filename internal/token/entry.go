package token

import (
	"maps"
	"slices"
	"time"
)

// Types of token.
const (
	TypeService = "service"
	TypeBatch   = "batch"
)

// Prefixes of token IDs, as in Vault, so that tools recognise them.
const (
	ServicePrefix = "hvs."
	BatchPrefix   = "hvb."
)

// Entry is a token's state.
//
// Entries returned by Lookup are shared with the store's cache and must be
// treated as read-only; Create and LookupAccessor return private copies.
type Entry struct {
	// ID is the token itself. It is known in memory once the token has been
	// created or presented, and never stored.
	ID string `json:"-"`

	Accessor    string            `json:"accessor,omitempty"`
	Parent      string            `json:"parent,omitempty"` // HMAC of the parent's ID
	Policies    []string          `json:"policies"`
	Meta        map[string]string `json:"meta,omitempty"`
	DisplayName string            `json:"display_name"`
	Path        string            `json:"path"`
	Role        string            `json:"role,omitempty"`
	// CreationTime is whole seconds, UTC; TTLs and caps count from it.
	CreationTime time.Time `json:"creation_time"`
	// TTL is the TTL at creation (Vault's creation_ttl).
	TTL            time.Duration `json:"ttl"`
	ExplicitMaxTTL time.Duration `json:"explicit_max_ttl"`
	// MaxTTL is the auth method's cap for tokens from a login; it bounds
	// renewals like ExplicitMaxTTL but is not reported as one.
	MaxTTL time.Duration `json:"max_ttl,omitempty"`
	Period time.Duration `json:"period"`
	// NumUses is the number of uses left; 0 means unlimited and -1 that the
	// last use has been taken (the token is about to be revoked).
	NumUses   int    `json:"num_uses"`
	Orphan    bool   `json:"orphan"`
	Renewable bool   `json:"renewable"`
	Type      string `json:"type"`
	EntityID  string `json:"entity_id"`
	// ExpireTime is zero for tokens that never expire (root).
	ExpireTime      time.Time `json:"expire_time"`
	LastRenewalTime time.Time `json:"last_renewal_time"`
	// BoundCIDRs limit the addresses the token may be used from.
	BoundCIDRs []string `json:"bound_cidrs,omitempty"`
}

// IsRoot reports whether the token carries the root policy.
func (e *Entry) IsRoot() bool { return slices.Contains(e.Policies, "root") }

// Expired reports whether the token's TTL has run out at now.
func (e *Entry) Expired(now time.Time) bool {
	return !e.ExpireTime.IsZero() && !now.Before(e.ExpireTime)
}

// live reports whether e may authenticate a request at now.
func (e *Entry) live(now time.Time) bool { return e.NumUses >= 0 && !e.Expired(now) }

func (e *Entry) clone() *Entry {
	c := *e
	c.Policies = slices.Clone(e.Policies)
	c.Meta = maps.Clone(e.Meta)
	return &c
}

// ttlAt is the whole seconds left at now (0 for tokens that never expire).
func (e *Entry) ttlAt(now time.Time) int64 {
	if e.ExpireTime.IsZero() {
		return 0
	}
	return max(int64(e.ExpireTime.Sub(now).Round(time.Second)/time.Second), 0)
}

// lookupData is the data block of auth/token/lookup*, in Vault's shape.
func (e *Entry) lookupData(now time.Time) map[string]any {
	var meta any
	if len(e.Meta) > 0 {
		meta = e.Meta
	}
	d := map[string]any{
		"id":               e.ID,
		"accessor":         e.Accessor,
		"policies":         e.Policies,
		"path":             e.Path,
		"meta":             meta,
		"display_name":     e.DisplayName,
		"num_uses":         e.NumUses, // -1 on its last use, as in Vault
		"orphan":           e.Parent == "",
		"creation_time":    e.CreationTime.Unix(),
		"creation_ttl":     int64(e.TTL / time.Second),
		"expire_time":      nil,
		"ttl":              e.ttlAt(now),
		"explicit_max_ttl": int64(e.ExplicitMaxTTL / time.Second),
		"entity_id":        e.EntityID,
		"type":             e.Type,
	}
	if e.Role != "" {
		d["role"] = e.Role
	}
	if e.Period != 0 {
		d["period"] = int64(e.Period / time.Second)
	}
	// Vault reports lease times for service tokens, which have a lease
	// even when they never expire (root tokens); such a lease cannot be
	// renewed. Batch tokens have none.
	if e.Type != TypeBatch {
		d["issue_time"] = e.CreationTime.Format(time.RFC3339Nano)
		d["renewable"] = false
	}
	if !e.ExpireTime.IsZero() {
		d["expire_time"] = e.ExpireTime.Format(time.RFC3339Nano)
		d["issue_time"] = e.CreationTime.Format(time.RFC3339Nano)
		d["renewable"] = e.Renewable
		if !e.LastRenewalTime.IsZero() {
			d["last_renewal_time"] = e.LastRenewalTime.Unix()
			d["last_renewal"] = e.LastRenewalTime.Format(time.RFC3339Nano)
		}
	}
	return d
}
