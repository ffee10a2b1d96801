package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tresorhq/tresor/internal/randid"
	"github.com/tresorhq/tresor/internal/storage"
)

// Manager is the expiration manager. It is safe for concurrent use, and
// meant to be the only writer of its storage view.
type Manager struct {
	s     storage.Store
	opts  Options
	locks keyLocks

	total, irrevocable atomic.Int64

	// Expiry loop state.
	loopMu sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
	// wake nudges the loop when a lease falls due before wakeAt (unix
	// nanoseconds of the loop's next planned scan).
	wake   chan struct{}
	wakeAt atomic.Int64
}

// Open returns a manager over s. It reads only the counters, whatever the
// number of leases stored; the expiry loop runs once Start is called.
func Open(ctx context.Context, s storage.Store, opts Options) (*Manager, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxRevokeAttempts <= 0 {
		opts.MaxRevokeAttempts = DefaultMaxRevokeAttempts
	}
	c, err := readCounts(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("open lease manager: %w", err)
	}
	m := &Manager{s: s, opts: opts, wake: make(chan struct{}, 1)}
	m.total.Store(int64(c.Total))
	m.irrevocable.Store(int64(c.Irrevocable))
	return m, nil
}

// Register stores l durably, in one transaction with its index entries, and
// returns its ID. When l.ID is empty it is set to l.Path + "/" + a random
// suffix; IssueTime defaults to now, ExpireTime to IssueTime + TTL, and a
// TTL over MaxTTL is lowered to it. l is updated in place. Registering an
// existing ID replaces that lease.
func (m *Manager) Register(ctx context.Context, l *Lease) (string, error) {
	if l.ID == "" {
		path := strings.Trim(l.Path, "/")
		if path == "" {
			return "", fmt.Errorf("register lease: %w: no path", ErrInvalid)
		}
		l.Path = path
		l.ID = path + "/" + randid.Base62(24)
	}
	if err := validID(l.ID); err != nil {
		return "", fmt.Errorf("register lease: %w", err)
	}
	if l.TTL <= 0 && l.ExpireTime.IsZero() {
		return "", fmt.Errorf("register lease %q: %w: no TTL", l.ID, ErrInvalid)
	}
	if l.MaxTTL > 0 && l.TTL > l.MaxTTL {
		l.TTL = l.MaxTTL
	}
	if l.IssueTime.IsZero() {
		l.IssueTime = m.opts.Now()
	}
	if l.ExpireTime.IsZero() {
		l.ExpireTime = l.IssueTime.Add(l.TTL)
	}
	l.IssueTime, l.ExpireTime = l.IssueTime.Round(0), l.ExpireTime.Round(0)

	unlock := m.locks.lock(l.ID)
	defer unlock()
	old, err := readLease(ctx, m.s, l.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("register lease: %w", err)
	}
	if err := m.save(ctx, old, l.clone()); err != nil {
		return "", fmt.Errorf("register lease: %w", err)
	}
	return l.ID, nil
}

// Lookup returns the lease with the given ID, or ErrNotFound.
func (m *Manager) Lookup(ctx context.Context, id string) (*Lease, error) {
	l, err := readLease(ctx, m.s, id)
	if err != nil {
		return nil, fmt.Errorf("lookup lease: %w", err)
	}
	return l, nil
}

// Renew extends the lease by increment (zero: by its issued TTL, or by what
// Options.Renew grants), counted from now and never past IssueTime + MaxTTL.
// It returns the renewed lease; ErrNotFound if the lease is unknown or has
// expired, ErrNotRenewable if it was registered as not renewable.
func (m *Manager) Renew(ctx context.Context, id string, increment time.Duration) (*Lease, error) {
	unlock := m.locks.lock(id)
	defer unlock()
	l, err := readLease(ctx, m.s, id)
	if err != nil {
		return nil, fmt.Errorf("renew lease: %w", err)
	}
	now := m.opts.Now()
	if l.Irrevocable || !now.Before(l.ExpireTime) || !l.NextAttempt.IsZero() {
		return nil, fmt.Errorf("renew lease %q: %w", id, ErrNotFound)
	}
	if !l.Renewable {
		return nil, fmt.Errorf("renew lease %q: %w", id, ErrNotRenewable)
	}
	ttl := increment
	if ttl <= 0 {
		ttl = l.TTL
	}
	if m.opts.Renew != nil {
		granted, err := m.opts.Renew(ctx, l.clone(), increment)
		if err != nil {
			return nil, fmt.Errorf("renew lease %q: %w", id, err)
		}
		if granted > 0 {
			ttl = granted
		}
	}
	if l.MaxTTL > 0 {
		ttl = min(ttl, l.IssueTime.Add(l.MaxTTL).Sub(now))
	}
	next := l.clone()
	next.LastRenewalTime = now.Round(0)
	next.ExpireTime = now.Add(ttl).Round(0)
	if err := m.save(ctx, l, next); err != nil {
		return nil, fmt.Errorf("renew lease: %w", err)
	}
	return next, nil
}

// Revoke revokes the lease through Options.Revoke and deletes it. Revoking
// an unknown lease is not an error; if the engine fails, the lease is kept
// and the error returned.
func (m *Manager) Revoke(ctx context.Context, id string) error {
	if err := m.revoke(ctx, id, false); err != nil {
		return fmt.Errorf("revoke lease: %w", err)
	}
	return nil
}

// revoke revokes one lease; force deletes it even when the engine fails.
func (m *Manager) revoke(ctx context.Context, id string, force bool) error {
	unlock := m.locks.lock(id)
	defer unlock()
	l, err := readLease(ctx, m.s, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := m.callRevoke(ctx, l); err != nil {
		if !force {
			return fmt.Errorf("revoke %q: %w", id, err)
		}
		m.opts.Logger.Warn("lease: engine failed to revoke, deleting anyway (force)", "lease_id", id, "error", err)
	}
	return m.save(ctx, l, nil)
}

// RevokePrefix revokes every lease whose ID starts with prefix ("database/"
// or "database/creds/ap"), stopping at the first engine failure unless
// force is set, in which case such leases are deleted anyway. An empty
// prefix is refused.
func (m *Manager) RevokePrefix(ctx context.Context, prefix string, force bool) error {
	if prefix == "" {
		return fmt.Errorf("revoke prefix: %w: empty prefix", ErrInvalid)
	}
	ids, err := m.idsWithPrefix(ctx, prefix)
	if err != nil {
		return fmt.Errorf("revoke prefix %q: %w", prefix, err)
	}
	for _, id := range ids {
		if err := m.revoke(ctx, id, force); err != nil {
			return fmt.Errorf("revoke prefix %q: %w", prefix, err)
		}
	}
	return nil
}

// idsWithPrefix lists the IDs that start with prefix, which need not end at
// a "/".
func (m *Manager) idsWithPrefix(ctx context.Context, prefix string) ([]string, error) {
	dir, partial := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dir, partial = prefix[:i+1], prefix[i+1:]
	}
	names, err := m.s.List(ctx, idPrefix+dir)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	var ids []string
	for _, name := range names {
		if !strings.HasPrefix(name, partial) {
			continue
		}
		if !strings.HasSuffix(name, "/") {
			ids = append(ids, dir+name)
			continue
		}
		err := storage.Walk(ctx, m.s, idPrefix+dir+name, func(key string) error {
			ids = append(ids, strings.TrimPrefix(key, idPrefix))
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list leases: %w", err)
		}
	}
	return ids, nil
}

// RevokeByToken revokes every lease created by the token with the given
// accessor. A lease whose engine fails is not left behind: it is handed to
// the expiry loop, which retries it with backoff. Only storage errors are
// returned.
func (m *Manager) RevokeByToken(ctx context.Context, tokenAccessor string) error {
	prefix := tokenPrefix + escape(tokenAccessor) + "/"
	names, err := m.s.List(ctx, prefix)
	if err != nil {
		return fmt.Errorf("revoke leases of token: %w", err)
	}
	var errs []error
	for _, name := range names {
		if strings.HasSuffix(name, "/") {
			continue
		}
		if err := m.revokeOrQueue(ctx, unescape(name)); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("revoke leases of token: %w", err)
	}
	return nil
}

// revokeOrQueue revokes a lease, or on engine failure counts a failed
// attempt so that the expiry loop retries it.
func (m *Manager) revokeOrQueue(ctx context.Context, id string) error {
	unlock := m.locks.lock(id)
	defer unlock()
	l, err := readLease(ctx, m.s, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := m.callRevoke(ctx, l); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return m.failed(ctx, l, err)
	}
	return m.save(ctx, l, nil)
}

// List returns the names one level below prefix among lease IDs, folders
// with a trailing "/", as LIST sys/leases/lookup/<prefix> does. A prefix
// without a trailing "/" is treated as a folder.
func (m *Manager) List(ctx context.Context, prefix string) ([]string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	names, err := m.s.List(ctx, idPrefix+prefix)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	return names, nil
}

// Count returns the number of leases stored and how many of them are
// irrevocable. The counters are kept in storage, updated in the same
// transaction as each lease, and read once at Open, so Count is exact and
// free.
func (m *Manager) Count() (total, irrevocable int) {
	return int(m.total.Load()), int(m.irrevocable.Load())
}

// Irrevocable returns the leases the expiry loop gave up on.
func (m *Manager) Irrevocable(ctx context.Context) ([]*Lease, error) {
	names, err := m.s.List(ctx, irrevocablePrefix)
	if err != nil {
		return nil, fmt.Errorf("list irrevocable leases: %w", err)
	}
	out := make([]*Lease, 0, len(names))
	for _, name := range names {
		l, err := readLease(ctx, m.s, unescape(name))
		if errors.Is(err, ErrNotFound) {
			continue // stale entry; Tidy drops it
		}
		if err != nil {
			return nil, fmt.Errorf("list irrevocable leases: %w", err)
		}
		out = append(out, l)
	}
	return out, nil
}

// callRevoke asks the engine to revoke l.
func (m *Manager) callRevoke(ctx context.Context, l *Lease) error {
	if m.opts.Revoke == nil {
		return nil
	}
	return m.opts.Revoke(ctx, l.clone())
}

// save writes the change from old to next (see replace) in one transaction,
// then applies it to the in-memory counters and nudges the loop if next
// falls due before its planned wake-up. The caller holds the lease's lock.
func (m *Manager) save(ctx context.Context, old, next *Lease) error {
	var d counts
	err := m.s.Update(ctx, func(tx storage.Tx) error {
		var err error
		d, err = replace(ctx, tx, old, next)
		return err
	})
	if err != nil {
		return err
	}
	m.total.Add(int64(d.Total))
	m.irrevocable.Add(int64(d.Irrevocable))
	if next != nil && !next.Irrevocable && bucketTime(next.due()).UnixNano() < m.wakeAt.Load() {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
	return nil
}
