package token

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// errNotRenewable: the token is not renewable or never expires.
var errNotRenewable = errors.New("lease is not renewable")

// renew extends the token under k by increment (its own TTL when zero, its
// period if periodic), never past its maximum lifetime, and returns the
// renewed entry, the new TTL and any warnings.
func (s *Store) renew(ctx context.Context, k key, increment time.Duration) (*Entry, time.Duration, []string, error) {
	defer s.locks.lock(k)()
	cur, err := s.entry(ctx, k)
	if err != nil {
		return nil, 0, nil, err
	}
	now := s.now()
	if !cur.live(now) {
		return nil, 0, nil, ErrNotFound
	}
	if !cur.Renewable || cur.ExpireTime.IsZero() {
		return nil, 0, nil, errNotRenewable
	}
	ttl, warnings, err := s.calculateTTL(ttlRequest{
		now: now, start: cur.CreationTime, increment: increment, ttl: cur.TTL,
		period: cur.Period, backendMax: cur.MaxTTL, explicit: cur.ExplicitMaxTTL,
	})
	if err != nil {
		return nil, 0, nil, err
	}
	n := cur.clone()
	n.ExpireTime = now.Truncate(time.Second).Add(ttl).UTC()
	n.LastRenewalTime = now.UTC()
	if err := s.write(ctx, k, cur, n); err != nil {
		return nil, 0, nil, err
	}
	return n, ttl, warnings, nil
}

// auth is the auth block answering a creation or renewal.
func (e *Entry) auth(ttl time.Duration) *logical.Auth {
	return &logical.Auth{
		ClientToken:   e.ID,
		Accessor:      e.Accessor,
		Policies:      e.Policies,
		TokenPolicies: e.Policies,
		Metadata:      e.Meta,
		LeaseDuration: int(ttl / time.Second),
		Renewable:     e.Renewable,
		EntityID:      e.EntityID,
		TokenType:     e.Type,
		Orphan:        e.Parent == "",
		NumUses:       max(e.NumUses, 0),
	}
}

// CreateFromAuth mints the token of an auth method's login from a: its
// policies plus "default", its metadata, display name, entity, number of
// uses, type and renewability, and a TTL from a.TTL (else the default)
// capped by a.MaxTTL and the store's MaxTTL, or a.Period for a periodic
// token. Login tokens are orphans. It fills in a's ClientToken, Accessor,
// Policies, TokenPolicies, LeaseDuration, TokenType, Orphan and NumUses.
func (s *Store) CreateFromAuth(ctx context.Context, a *logical.Auth, path string) (*Entry, error) {
	typ := a.TokenType
	if typ == "" || strings.HasPrefix(typ, "default-") {
		typ = strings.TrimPrefix(typ, "default-")
		if typ == "" {
			typ = TypeService
		}
	}
	if typ != TypeService && typ != TypeBatch {
		return nil, logical.InvalidRequest("invalid 'token_type' value")
	}
	if typ == TypeBatch && (a.Period > 0 || a.NumUses > 0) {
		return nil, logical.InvalidRequest("batch tokens cannot be periodic or have limited uses")
	}
	now := s.now().UTC().Truncate(time.Second)
	ttl, _, err := s.calculateTTL(ttlRequest{now: now, start: now, ttl: a.TTL, period: a.Period, backendMax: a.MaxTTL})
	if err != nil {
		return nil, err
	}
	e, err := s.Create(ctx, &Entry{
		// Auth methods set TokenPolicies only for token_no_default_policy.
		Policies:     sanitizePolicies(a.Policies, a.TokenPolicies == nil),
		Meta:         a.Metadata,
		DisplayName:  a.DisplayName,
		Path:         path,
		CreationTime: now,
		TTL:          ttl,
		MaxTTL:       a.MaxTTL,
		Period:       a.Period,
		NumUses:      a.NumUses,
		Renewable:    a.Renewable && typ == TypeService,
		Type:         typ,
		EntityID:     a.EntityID,
		BoundCIDRs:   a.BoundCIDRs,
	})
	if err != nil {
		return nil, err
	}
	*a = *mergeAuth(a, e.auth(ttl))
	return e, nil
}

// mergeAuth is out with the method-side fields of in kept.
func mergeAuth(in, out *logical.Auth) *logical.Auth {
	out.TTL, out.MaxTTL, out.Period, out.DisplayName = in.TTL, in.MaxTTL, in.Period, in.DisplayName
	return out
}
