package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tresorhq/tresor/internal/pgsql"

	"github.com/tresorhq/tresor/internal/storage"
)

// High availability. With ha_enabled = "true" the store offers HALock: the
// active node holds one row of the ha_table (Vault's vault_ha_locks by
// default, created when missing) whose valid_until lies a lock lifetime
// (haTTL, 3 s) in the future of the database's clock. The holder renews it
// every haRenew (1 s); a waiter polls every haPoll (0.5 s) and takes the row
// once valid_until has passed, so a standby takes over a dead holder's lock
// within about haTTL + haPoll.
//
// Every comparison uses the database's now(), so the nodes' clocks need not
// agree. The holder times its own deadline from the moment it sent the last
// successful renewal: the row cannot expire (by the database's clock) before
// that moment plus haTTL, so a holder that gives up at that point minus
// haMargin stops acting as active before anyone else can take the lock. A
// renewal that fails (database unreachable, row taken) is retried until that
// deadline; then the lost channel is closed.

// ErrHADisabled is returned by HALock when the stanza does not set
// ha_enabled = "true".
var ErrHADisabled = errors.New("storage/postgres: ha_enabled is not set")

// ErrLockHeld is returned by Lock when this handle already holds the lock.
var ErrLockHeld = errors.New("storage/postgres: lock already held by this handle")

const (
	// DefaultHATable is the lock table Vault's documentation creates.
	DefaultHATable = "vault_ha_locks"

	haTTL    = 3 * time.Second
	haRenew  = time.Second
	haPoll   = 500 * time.Millisecond
	haMargin = 500 * time.Millisecond
	// haQueryTimeout bounds one lock query, so that a hung connection
	// cannot hold the holder past its deadline unnoticed.
	haQueryTimeout = time.Second
	// haPoolConns is the size of the lock's own connection pool.
	haPoolConns = 2
)

// haTimes are the lock's timings; tests may shorten them.
type haTimes struct {
	ttl, renew, poll, margin time.Duration
}

var defaultHATimes = haTimes{ttl: haTTL, renew: haRenew, poll: haPoll, margin: haMargin}

// haQueries holds the lock table's SQL.
type haQueries struct {
	acquire, renew, release, value string
}

func newHAQueries(table string) haQueries {
	t := pgsql.QuoteIdent(table)
	return haQueries{
		// Take the row if it is free, expired, or already ours.
		acquire: `INSERT INTO ` + t + ` AS l (ha_key, ha_identity, ha_value, valid_until)
			VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
			ON CONFLICT (ha_key) DO UPDATE SET ha_identity = EXCLUDED.ha_identity,
				ha_value = EXCLUDED.ha_value, valid_until = EXCLUDED.valid_until
			WHERE l.valid_until < now() OR l.ha_identity = EXCLUDED.ha_identity`,
		renew: `UPDATE ` + t + ` SET valid_until = now() + $3 * interval '1 millisecond'
			WHERE ha_key = $1 AND ha_identity = $2`,
		release: `DELETE FROM ` + t + ` WHERE ha_key = $1 AND ha_identity = $2`,
		value:   `SELECT ha_value FROM ` + t + ` WHERE ha_key = $1 AND valid_until >= now()`,
	}
}

// ensureHATable creates Vault's lock table unless it exists.
func (s *Store) ensureHATable(ctx context.Context, table string) error {
	exists, err := s.tableExists(ctx, table)
	if err != nil || exists {
		return err
	}
	pkey := table + "_pkey"
	if table == DefaultHATable {
		pkey = "ha_key"
	}
	create := `CREATE TABLE IF NOT EXISTS ` + pgsql.QuoteIdent(table) + ` (
		ha_key      TEXT COLLATE "C" NOT NULL,
		ha_identity TEXT COLLATE "C" NOT NULL,
		ha_value    TEXT COLLATE "C",
		valid_until TIMESTAMP WITH TIME ZONE NOT NULL,
		CONSTRAINT ` + pgsql.QuoteIdent(pkey) + ` PRIMARY KEY (ha_key)
	)`
	if _, err := s.pool.Exec(ctx, create); err != nil {
		if exists, _ := s.tableExists(ctx, table); exists {
			return nil
		}
		return fmt.Errorf("storage/postgres: create table %s: %w", pgsql.QuoteIdent(table), err)
	}
	return nil
}

// HAStore is a Store with HA enabled: it is also a storage.HABackend, so
// the server finds the election by type assertion, while a plain *Store
// (ha_enabled unset) is not one and runs a single node.
type HAStore struct {
	*Store
}

var _ storage.HABackend = (*HAStore)(nil)

// HAStore returns s as an HAStore, or nil unless the stanza set
// ha_enabled = "true". The server hands this, not s, to the core.
func (s *Store) HAStore() *HAStore {
	if s.ha == nil {
		return nil
	}
	return &HAStore{Store: s}
}

// HALock implements storage.HABackend.
func (h *HAStore) HALock(key, value string) (storage.Lock, error) {
	s := h.Store
	if s.ha == nil {
		return nil, ErrHADisabled
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	return &Lock{s: s, q: *s.ha, times: s.haTimes, key: key, value: value, identity: hex.EncodeToString(id[:])}, nil
}

// Lock is one node's handle on a lock row. It implements storage.Lock.
type Lock struct {
	s        *Store
	q        haQueries
	times    haTimes
	key      string
	value    string
	identity string

	mu   sync.Mutex
	held *holding // nil unless held
}

// holding is one period of holding the lock.
type holding struct {
	s        *Store
	lost     chan struct{}
	lostOnce sync.Once
	stop     chan struct{} // closed by Unlock
	done     chan struct{} // closed when the renewer has exited
}

// markLost ends the holding: the read cache stops answering and is
// dropped (another node may write from now on), then lost is closed.
func (h *holding) markLost() {
	h.lostOnce.Do(func() {
		h.s.cacheOn.Store(false)
		h.s.Purge()
		close(h.lost)
	})
}

var _ storage.Lock = (*Lock)(nil)

// Lock implements storage.Lock: it polls until the row is free or expired
// and takes it.
func (l *Lock) Lock(ctx context.Context) (<-chan struct{}, error) {
	l.mu.Lock()
	if h := l.held; h != nil {
		select {
		case <-h.lost: // lost earlier: this handle may try again
			l.held = nil
			<-h.done
		default:
			l.mu.Unlock()
			return nil, ErrLockHeld
		}
	}
	l.mu.Unlock()
	t := time.NewTicker(l.times.poll)
	defer t.Stop()
	for {
		sent := time.Now()
		ok, err := l.tryAcquire(ctx)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// A failed attempt (database briefly down) is retried like a
		// busy lock: waiting for the database is a standby's job.
		if err == nil && ok {
			h := &holding{s: l.s, lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
			// Only the holder writes: its cache starts empty and stays
			// right through its own writes until the lock is lost.
			l.s.Purge()
			l.s.cacheOn.Store(true)
			l.mu.Lock()
			l.held = h
			l.mu.Unlock()
			go l.renew(h, sent)
			return h.lost, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (l *Lock) tryAcquire(ctx context.Context) (bool, error) {
	qctx, cancel := context.WithTimeout(ctx, haQueryTimeout)
	defer cancel()
	tag, err := l.s.haPool.Exec(qctx, l.q.acquire, l.key, l.identity, l.value, l.times.ttl.Milliseconds())
	if err != nil {
		return false, fmt.Errorf("storage/postgres: acquire lock: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// renew keeps the row alive until Unlock, or closes h.lost once the row
// may have expired or was taken. acquired is when the acquiring query was
// sent.
func (l *Lock) renew(h *holding, acquired time.Time) {
	defer close(h.done)
	deadline := acquired.Add(l.times.ttl - l.times.margin)
	t := time.NewTicker(l.times.renew)
	defer t.Stop()
	for {
		expiry := time.NewTimer(time.Until(deadline))
		select {
		case <-h.stop:
			expiry.Stop()
			return
		case <-expiry.C:
			h.markLost()
			return
		case <-t.C:
			expiry.Stop()
		}
		sent := time.Now()
		end := sent.Add(haQueryTimeout)
		if deadline.Before(end) {
			end = deadline
		}
		ctx, cancel := context.WithDeadline(context.Background(), end)
		tag, err := l.s.haPool.Exec(ctx, l.q.renew, l.key, l.identity, l.times.ttl.Milliseconds())
		cancel()
		switch {
		case err == nil && tag.RowsAffected() == 1:
			deadline = sent.Add(l.times.ttl - l.times.margin)
		case err == nil:
			// Someone else holds the row: it expired under us.
			h.markLost()
			return
		}
		// On an error keep the old deadline and try again.
	}
}

// Unlock implements storage.Lock: it stops renewing, deletes the row if it
// is still this handle's (so a waiter takes over at its next poll) and
// closes the lost channel.
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	h := l.held
	l.held = nil
	l.mu.Unlock()
	if h == nil {
		return nil
	}
	close(h.stop)
	<-h.done
	h.markLost()
	if _, err := l.s.haPool.Exec(ctx, l.q.release, l.key, l.identity); err != nil {
		// The row expires by itself within the lifetime.
		return fmt.Errorf("storage/postgres: release lock: %w", err)
	}
	return nil
}

// Value implements storage.Lock.
func (l *Lock) Value(ctx context.Context) (bool, string, error) {
	var held bool
	var v string
	_, err := l.s.haPool.Query(ctx, l.q.value, []any{l.key}, func(row [][]byte) error {
		held, v = true, string(row[0]) // a NULL value reads as ""
		return nil
	})
	if err != nil {
		return false, "", fmt.Errorf("storage/postgres: read lock: %w", err)
	}
	return held, v, nil
}
