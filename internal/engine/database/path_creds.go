package database

import (
	"context"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) pathCreds() *framework.Path {
	return &framework.Path{
		Pattern:    "creds/{name}",
		Operations: map[logical.Operation]framework.Handler{logical.ReadOperation: b.readCreds},
		Synopsis:   "Create a database user for a role, with a lease.",
	}
}

// readCreds creates a user with the role's creation statements and hands
// back its name and password under a renewable lease. If a statement
// fails, the rollback statements run and nothing is leased.
func (b *Backend) readCreds(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := req.Param("name")
	r, err := loadRole(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, logical.InvalidRequest("unknown role: %s", name)
	}
	p, err := b.connection(ctx, req.Storage, r.DBName)
	if err != nil {
		return nil, err
	}
	if !p.cfg.allows(name) {
		return nil, logical.InvalidRequest("%q is not an allowed role", name)
	}
	ttl, maxTTL := b.ttls(r)
	now := b.now()
	tpl := p.cfg.UsernameTemplate
	if tpl == "" {
		tpl = p.d.usernameTemplate
	}
	display := "token"
	if req.Token != nil && req.Token.DisplayName != "" {
		display = req.Token.DisplayName
	}
	username, err := newUsername(tpl, display, name, p.d.maxUsername, now)
	if err != nil {
		return nil, logical.InvalidRequest("%v", err)
	}
	password := newPassword()
	vars := map[string]string{
		"name": username, "username": username, "password": password,
		"expiration": p.d.expirationString(now.Add(ttl)),
	}
	if err := execAll(ctx, p.db, r.Creation, vars); err != nil {
		if len(r.Rollback) > 0 {
			if rbErr := execAll(ctx, p.db, r.Rollback, vars); rbErr != nil {
				b.logger.Warn("database: rollback statements failed", "role", name, "error", redact(rbErr.Error(), password))
			}
		}
		return nil, failure(ctx, p, "unable to create database user", err, password)
	}
	return &logical.Response{
		Data: map[string]any{"username": username, "password": password},
		Secret: &logical.Secret{
			TTL: ttl, MaxTTL: maxTTL, Renewable: true,
			InternalData: map[string]any{
				"secret_type": "creds", "username": username, "role": name, "db_name": r.DBName,
			},
		},
	}, nil
}

// ttls are a role's lease TTL and cap, falling back to the mount's.
func (b *Backend) ttls(r *role) (ttl, maxTTL time.Duration) {
	ttl, maxTTL = r.DefaultTTL, r.MaxTTL
	if ttl <= 0 {
		ttl = b.defaultTTL
	}
	if ttl <= 0 {
		ttl = fallbackTTL
	}
	if maxTTL <= 0 {
		maxTTL = b.maxTTL
	}
	if maxTTL > 0 && ttl > maxTTL {
		ttl = maxTTL
	}
	return ttl, maxTTL
}
