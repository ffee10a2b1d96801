package core

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/mount"
	"github.com/tresorhq/tresor/internal/token"
)

// Standby reads. On Raft storage every node holds the whole (encrypted)
// data, so a standby can answer a KV read itself once its state machine
// has applied every write the read must see; the server decides which
// index that is (the client's X-Vault-Index, or the active node's read
// index) and waits for it before asking the core.
//
// For that the standby keeps a replica: the mount table with backends for
// its KV mounts only, the policies, the token store (never started: no
// expiry runs here), the identity store, the audit devices, the quotas and
// CORS, all read from local storage. The replica is never written through:
// every write the storage would refuse (only the leader writes), and a
// request that would need one (a token with a use limit, a lease, a
// wrapped response, anything but a KV read or list) is declined and
// forwarded before it is audited.
//
// Staleness is ruled out by invalidation: the state machine reports the
// keys of every change it applies (Invalidate) before it publishes the
// index covering them. A changed token drops that token from the token
// cache; a change to KV data needs nothing (the KV backend caches
// nothing); any other change to what the replica holds (mounts, policies,
// identity, audit, quotas, the keyring, a restored snapshot) marks the
// whole replica stale, and reads are forwarded until it has been reloaded.

// standbyRead marks a request the server wants this standby to answer; the
// core sets forward when it declines.
type standbyRead struct{ forward atomic.Bool }

type standbyReadKey struct{}

// WithStandbyRead asks Handle to answer the request on this standby from
// its replica, or decline (StandbyReadDeclined) without side effects so
// the server forwards it. The server must first have waited until the
// local state covers the read's index.
func WithStandbyRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, standbyReadKey{}, new(standbyRead))
}

// StandbyReadDeclined reports whether Handle declined the standby read
// marked in ctx: nothing was answered, and the request must be forwarded.
func StandbyReadDeclined(ctx context.Context) bool {
	sr, _ := ctx.Value(standbyReadKey{}).(*standbyRead)
	return sr != nil && sr.forward.Load()
}

func standbyReadOf(ctx context.Context) *standbyRead {
	sr, _ := ctx.Value(standbyReadKey{}).(*standbyRead)
	return sr
}

// decline records that the request goes to the active node.
func (sr *standbyRead) decline() error {
	sr.forward.Store(true)
	return ErrStandby
}

// replica is the standby's bookkeeping; its data lives in the Core's own
// fields (tokens, policies, mounts...), which a standby does not otherwise
// use.
type replica struct {
	// gen counts invalidations; at is gen+1 of the loaded replica, 0 when
	// none is loaded. The replica is current when at == gen+1.
	gen, at atomic.Uint64
	// tokens is the replica's token store, for Invalidate, which must not
	// take the core's state lock.
	tokens  atomic.Pointer[token.Store]
	loading atomic.Bool
	// failedAt is when the last load failed (UnixNano), to pace retries;
	// lastErr is its error, logged once.
	failedAt atomic.Int64
	lastErr  atomic.Pointer[string]
}

// current reports whether the loaded replica reflects every change the
// state machine has reported.
func (r *replica) current() bool { return r.at.Load() == r.gen.Load()+1 }

// replicaIgnores are the storage prefixes whose changes leave the replica
// valid: data the replica does not cache (the KV backends read storage on
// every request; no other backend is built) or does not use (leases,
// wrapped responses, owed cleanups, join challenges).
var replicaIgnores = []string{"logical/", "auth/", leasePrefix, wrapPrefix, cleanupPrefix, challengePrefix}

// Invalidate is told the storage keys a change applied (nil: all of them)
// by the state machine, before the change's index is published. It runs
// inside the state machine's apply, so it only flips atomics: it must
// never take c.state (a node becoming active holds it across writes that
// wait for this apply).
func (c *Core) Invalidate(keys []string) {
	if !c.standbyNow.Load() || c.sealedNow.Load() {
		return // the active node's caches are written through
	}
	stale := keys == nil
	for _, k := range keys {
		if rest, ok := strings.CutPrefix(k, tokenPrefix); ok {
			if ts := c.replica.tokens.Load(); ts != nil {
				ts.Invalidate(rest)
			}
			continue
		}
		if !hasAnyPrefix(k, replicaIgnores) {
			stale = true
			break
		}
	}
	if stale {
		c.replica.gen.Add(1)
		c.loadReplicaSoon()
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// replicaRetry paces loads after a failure.
const replicaRetry = time.Second

// loadReplicaSoon (re)loads the replica in the background unless a load
// is running (it reloads again if invalidated meanwhile) or one failed
// within replicaRetry.
func (c *Core) loadReplicaSoon() {
	if c.cfg.HA == nil || !c.standbyNow.Load() {
		return
	}
	if t := c.replica.failedAt.Load(); t != 0 && time.Since(time.Unix(0, t)) < replicaRetry {
		return
	}
	if !c.replica.loading.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			gen := c.replica.gen.Load()
			if err := c.loadReplica(gen); err != nil {
				c.replica.failedAt.Store(time.Now().UnixNano())
				// Retried every replicaRetry while reads come: say so
				// once per distinct failure, not at every attempt.
				msg := err.Error()
				if prev := c.replica.lastErr.Swap(&msg); prev == nil || *prev != msg {
					c.logger.Warn("standby reads: loading the replica failed; reads are forwarded", "error", err)
				}
				break
			}
			c.replica.failedAt.Store(0)
			c.replica.lastErr.Store(nil)
			if c.replica.gen.Load() == gen || !c.standbyNow.Load() {
				break
			}
			// Changed while loading: gather the next changes briefly.
			time.Sleep(20 * time.Millisecond)
		}
		c.replica.loading.Store(false)
		// An invalidation that came after the last check found the flag
		// still set; look once more.
		if !c.replica.current() && c.replica.failedAt.Load() == 0 {
			c.loadReplicaSoon()
		}
	}()
}

// loadReplica loads the replica as of invalidation generation gen.
func (c *Core) loadReplica(gen uint64) error {
	c.state.Lock()
	defer c.state.Unlock()
	if c.sealed || !c.standby {
		return nil
	}
	c.teardownLocked()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.openReplica(ctx); err != nil {
		c.teardownLocked()
		return err
	}
	c.replica.tokens.Store(c.tokens)
	c.replica.at.Store(gen + 1)
	return nil
}

func (c *Core) openReplica(ctx context.Context) error {
	if err := c.barrier.Reload(ctx); err != nil {
		return fmt.Errorf("reload keyring: %w", err)
	}
	if err := c.openStores(ctx); err != nil {
		return err
	}
	if err := c.setupMounts(ctx, c.attachReplica); err != nil {
		return err
	}
	if err := c.openGates(ctx); err != nil {
		return err
	}
	if len(c.audit.List()) < len(c.auditDevs)+len(c.declared) {
		// The active node would refuse requests it cannot audit; a
		// standby missing a device forwards them instead.
		return errors.New("an audit device could not be opened on this node")
	}
	return nil
}

// attachReplica builds the backend of a KV mount for the replica; other
// mounts stay without a backend, so their requests are forwarded, and so
// does a KV mount whose backend cannot be built read-only (a version 2
// mount still to upgrade, which writes).
func (c *Core) attachReplica(ctx context.Context, e *mount.Entry) error {
	if e.Type != "kv" {
		return nil
	}
	if err := c.attach(ctx, e); err != nil {
		c.logger.Debug("standby reads: mount served by the active node only", "path", e.Path, "error", err)
		e.Backend, e.Special = nil, nil
	}
	return nil
}

// standbyServes reports whether a standby answers this request on entry:
// a read or list on a KV mount, without response wrapping.
func standbyServes(entry *mount.Entry, req *logical.Request) bool {
	return entry.Type == "kv" && entry.Backend != nil && req.WrapTTL == 0 &&
		(req.Operation == logical.ReadOperation || req.Operation == logical.ListOperation)
}

// needsActive reports whether completing resp takes a write only the
// active node can make (a login's token, a lease, a wrapping token).
func needsActive(resp *logical.Response) bool {
	return resp.Auth != nil || (resp.Secret != nil && resp.Secret.LeaseID == "" && !resp.Secret.NoLease)
}
