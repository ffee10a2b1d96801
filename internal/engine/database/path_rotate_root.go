package database

import (
	"context"
	"strings"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

func (b *Backend) pathRotateRoot() *framework.Path {
	return &framework.Path{
		Pattern:    "rotate-root/{name}",
		Operations: map[logical.Operation]framework.Handler{logical.UpdateOperation: b.rotateRoot},
		Synopsis:   "Give the connection's admin user a new password that only Tresor knows.",
	}
}

// rotateRoot changes the admin password in the database, then stores it
// and reopens the pool with it. The old password stops working.
func (b *Backend) rotateRoot(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	name := req.Param("name")
	b.rotateMu.Lock()
	defer b.rotateMu.Unlock()
	c, err := loadConfig(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, logical.InvalidRequest("unknown database %q", name)
	}
	if c.Username == "" || c.Password == "" {
		return nil, logical.InvalidRequest("unable to rotate root credentials: no username or password in the configuration")
	}
	p, err := b.connection(ctx, req.Storage, name)
	if err != nil {
		return nil, err
	}
	stmts := c.RootRotation
	if len(stmts) == 0 {
		stmts = p.d.rotateRoot
	}
	password := newPassword()
	vars := map[string]string{"name": c.Username, "username": c.Username, "password": password, "host": "%"}
	if p.d.driver == "mysql" {
		// The admin account's host part, which need not be '%'.
		var cur string
		if err := p.db.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&cur); err != nil {
			return nil, failure(ctx, p, "unable to rotate root credentials", err)
		}
		if i := strings.LastIndexByte(cur, '@'); i >= 0 {
			vars["host"] = cur[i+1:]
		}
	}
	if err := execAll(ctx, p.db, stmts, vars); err != nil {
		return nil, failure(ctx, p, "unable to rotate root credentials", err, password)
	}
	c.Password = password
	if err := save(ctx, req.Storage, configPrefix+name, c); err != nil {
		b.logger.Error("database: rotated the admin password but could not store it", "connection", name)
		return nil, err
	}
	// Sessions opened with the old password keep working; start afresh.
	db, d, err := open(c)
	if err != nil {
		b.setPool(name, nil)
		return nil, nil
	}
	b.setPool(name, &pool{db: db, d: d, cfg: c})
	return nil, nil
}
