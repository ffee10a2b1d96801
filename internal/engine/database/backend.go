package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/storage"
)

// Backend is a mounted database engine. It implements logical.Backend,
// logical.ExistenceChecker, logical.SecretRevoker, logical.SecretRenewer
// and logical.Closer.
type Backend struct {
	*framework.Backend
	logger *slog.Logger
	// now is the clock; tests replace it.
	now func() time.Time
	// The mount's lease TTLs, for credentials whose role sets none.
	defaultTTL, maxTTL time.Duration

	mu     sync.Mutex
	pools  map[string]*pool // by connection name
	closed bool

	// rotateMu serialises password changes of static roles and of the
	// admin user, so the stored password is always the live one.
	rotateMu sync.Mutex
	// tick is how often the rotation loop looks for due static roles.
	tick   time.Duration
	cancel context.CancelFunc
	done   chan struct{}
}

var (
	_ logical.SecretRevoker = (*Backend)(nil)
	_ logical.SecretRenewer = (*Backend)(nil)
	_ logical.Closer        = (*Backend)(nil)
)

// pool is an open connection pool with the configuration it was opened
// with.
type pool struct {
	db  *sql.DB
	d   *dialect
	cfg *connConfig
}

// fallbackTTL is the lease TTL when neither the role nor the mount sets
// one (Vault's system default, 32 days).
const fallbackTTL = 768 * time.Hour

// Factory builds a database backend. With a storage view it starts the
// loop that rotates static roles' passwords; Close stops it.
func Factory(_ context.Context, conf *logical.BackendConfig) (logical.Backend, error) {
	b := &Backend{
		logger:     conf.Logger,
		now:        time.Now,
		defaultTTL: conf.DefaultLeaseTTL,
		maxTTL:     conf.MaxLeaseTTL,
		pools:      map[string]*pool{},
		tick:       time.Second,
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	routeDriverLogs(b.logger)
	var err error
	b.Backend, err = framework.New(backendHelp, b.paths())
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	if conf.Storage != nil {
		b.startRotation(conf.Storage)
	}
	return b, nil
}

func (b *Backend) paths() []*framework.Path {
	return []*framework.Path{
		b.pathConfigList(), b.pathConfig(), b.pathReset(), b.pathRotateRoot(),
		b.pathRolesList(), b.pathRoles(), b.pathCreds(),
		b.pathStaticRolesList(), b.pathStaticRoles(), b.pathStaticCreds(), b.pathRotateRole(),
	}
}

// Close stops the rotation loop and closes every connection pool. The
// core calls it when the mount is removed or the core seals.
func (b *Backend) Close(context.Context) error {
	b.mu.Lock()
	b.closed = true
	pools := b.pools
	b.pools = map[string]*pool{}
	cancel, done := b.cancel, b.done
	b.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	var errs []error
	for _, p := range pools {
		errs = append(errs, p.db.Close())
	}
	return errors.Join(errs...)
}

// errClosed answers requests racing with Close.
var errClosed = &logical.Error{Kind: logical.KindUnavailable, Messages: []string{"database backend is shutting down"}}

// connection returns the pool of the named connection, opening it on
// first use. It is a 400 when the connection is not configured.
func (b *Backend) connection(ctx context.Context, s storage.Reader, name string) (*pool, error) {
	b.mu.Lock()
	p, ok := b.pools[name]
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	if ok {
		return p, nil
	}
	cfg, err := loadConfig(ctx, s, name)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, logical.InvalidRequest("unknown database %q", name)
	}
	db, d, err := open(cfg)
	if err != nil {
		return nil, logical.InvalidRequest("error opening database %q: %s", name, redact(err.Error(), cfg.Password))
	}
	p = &pool{db: db, d: d, cfg: cfg}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		db.Close()
		return nil, errClosed
	}
	if old, ok := b.pools[name]; ok { // another request opened it first
		db.Close()
		return old, nil
	}
	b.pools[name] = p
	return p, nil
}

// setPool installs p (nil: none) as the named connection's pool, closing
// the one it replaces.
func (b *Backend) setPool(name string, p *pool) {
	b.mu.Lock()
	old := b.pools[name]
	if p == nil || b.closed {
		delete(b.pools, name)
	} else {
		b.pools[name] = p
	}
	closed := b.closed
	b.mu.Unlock()
	if old != nil && old != p {
		old.db.Close()
	}
	if closed && p != nil {
		p.db.Close()
	}
}

// failure is dbError for a statement that failed: when the database does
// not answer a ping either, the error says the connection is the problem.
func failure(ctx context.Context, p *pool, what string, err error, secrets ...string) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if perr := p.db.PingContext(pctx); perr != nil && ctx.Err() == nil {
		return dbError(p, what+": cannot connect to the database", perr, secrets...)
	}
	return dbError(p, what, err, secrets...)
}

// dbError is the client-visible form of a database failure: a 400 with
// the database's message, minus the secrets given and the connection's
// password.
func dbError(p *pool, what string, err error, secrets ...string) error {
	secrets = append(secrets, p.cfg.Password, p.cfg.ConnectionURL, dsn(p.cfg.ConnectionURL, p.cfg.Username, p.cfg.Password))
	return logical.InvalidRequest("%s: %s", what, redact(err.Error(), secrets...))
}

const backendHelp = `The database secrets engine creates database users on demand, with a
lease; when the lease ends the users are dropped. It also rotates the
passwords of existing users (static roles) on a schedule.`
