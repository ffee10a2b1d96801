package database

import (
	"context"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
)

// leased is what a credential's lease remembers (its InternalData).
type leased struct {
	username, role, dbName string
}

func leasedOf(s *logical.Secret) (leased, error) {
	str := func(k string) string { v, _ := s.InternalData[k].(string); return v }
	l := leased{username: str("username"), role: str("role"), dbName: str("db_name")}
	if l.username == "" || l.dbName == "" {
		return l, fmt.Errorf("database lease %q has no username or db_name", s.LeaseID)
	}
	return l, nil
}

// RevokeSecret drops the user of an ending lease: the role's revocation
// statements, or the plugin's default (end sessions, revoke privileges,
// drop). An error makes the lease manager retry later with backoff.
func (b *Backend) RevokeSecret(ctx context.Context, req *logical.Request, secret *logical.Secret, _ map[string]any) error {
	l, err := leasedOf(secret)
	if err != nil {
		return err
	}
	p, err := b.connection(ctx, req.Storage, l.dbName)
	if err != nil {
		return err
	}
	var stmts []string
	// A role deleted since leaves the default revocation.
	if r, err := loadRole(ctx, req.Storage, l.role); err != nil {
		return err
	} else if r != nil {
		stmts = r.Revocation
	}
	if len(stmts) == 0 {
		err = p.d.revoke(ctx, p.db, l.username)
	} else {
		err = execAll(ctx, p.db, stmts, map[string]string{"name": l.username, "username": l.username})
	}
	if err != nil {
		return failure(ctx, p, fmt.Sprintf("revoke database user of role %q", l.role), err)
	}
	return nil
}

// RenewSecret extends the user's validity in the database (renew
// statements, or for PostgreSQL VALID UNTIL) and grants the increment, or
// the role's TTL.
func (b *Backend) RenewSecret(ctx context.Context, req *logical.Request, secret *logical.Secret, increment time.Duration) (time.Duration, error) {
	l, err := leasedOf(secret)
	if err != nil {
		return 0, err
	}
	r, err := loadRole(ctx, req.Storage, l.role)
	if err != nil {
		return 0, err
	}
	if r == nil {
		return 0, logical.InvalidRequest("unable to renew: role %q no longer exists", l.role)
	}
	ttl, _ := b.ttls(r)
	if increment > 0 {
		ttl = increment
	}
	p, err := b.connection(ctx, req.Storage, l.dbName)
	if err != nil {
		return 0, err
	}
	stmts := r.Renew
	if len(stmts) == 0 {
		stmts = p.d.renew
	}
	if len(stmts) > 0 {
		vars := map[string]string{"name": l.username, "username": l.username, "expiration": p.d.expirationString(b.now().Add(ttl))}
		if err := execAll(ctx, p.db, stmts, vars); err != nil {
			return 0, failure(ctx, p, "renew database user", err)
		}
	}
	return ttl, nil
}
