package core

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/barrier"
	"github.com/tresorhq/tresor/internal/logical"
	"github.com/tresorhq/tresor/internal/seal"
	"github.com/tresorhq/tresor/internal/storage"
)

// HA makes the core one of several nodes sharing an HA-capable storage:
// exactly one node, the holder of the storage's lock, is active; the
// others are standbys. A standby keeps its barrier unsealed but holds no
// mount table, policies, tokens or leases, so it can never answer from
// stale cached state: Handle refuses with ErrStandby and the server
// forwards the request to the active node. A node that takes the lock loads
// everything from storage (as at a single node's unseal); a node that loses
// it drops everything and becomes a standby again.
type HA struct {
	Backend storage.HABackend
	// APIAddr and ClusterAddr are what this node advertises while active.
	APIAddr, ClusterAddr string
	// ClusterTLS, when set, is called with the cluster's TLS material
	// whenever the core learns it: at unseal (nil before any node has
	// been active) and when the first active node creates it.
	ClusterTLS func(ctx context.Context, m *ClusterTLS) error
	// Sealed, when set, is called after the node seals (it leaves the
	// cluster's traffic until the next unseal).
	Sealed func()
}

// ErrStandby is returned by Handle on a standby node.
var ErrStandby = &logical.Error{Kind: logical.KindUnavailable, Messages: []string{"this node is a standby; the request must be forwarded to the active node"}}

// Advertisement is the value the active node publishes through the lock.
type Advertisement struct {
	APIAddr     string `json:"api_addr"`
	ClusterAddr string `json:"cluster_addr"`
}

// haRun is one unsealed period's HA loop.
type haRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	lock   storage.Lock
}

// standby fields live on Core (see core.go): standby, standbyNow,
// activeTime, ha.

// Standby reports whether this node is an unsealed standby.
func (c *Core) Standby() bool { return c.standbyNow.Load() }

// HAEnabled reports whether the core runs active/standby.
func (c *Core) HAEnabled() bool { return c.cfg.HA != nil }

// unsealHA finishes an unseal in HA mode: the node becomes a standby and
// starts competing for the lock. Called with state held for writing, after
// the barrier is unsealed.
func (c *Core) unsealHA(ctx context.Context) error {
	m, err := c.readClusterTLS(ctx)
	if err != nil {
		return err
	}
	if c.cfg.HA.ClusterTLS != nil {
		if err := c.cfg.HA.ClusterTLS(ctx, m); err != nil {
			return fmt.Errorf("start cluster networking: %w", err)
		}
	}
	adv, _ := json.Marshal(Advertisement{APIAddr: c.cfg.HA.APIAddr, ClusterAddr: c.cfg.HA.ClusterAddr})
	lock, err := c.cfg.HA.Backend.HALock("core/lock", string(adv))
	if err != nil {
		return fmt.Errorf("HA lock: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	run := &haRun{cancel: cancel, done: make(chan struct{}), lock: lock}
	c.haRun = run
	c.standby = true
	c.standbyNow.Store(true)
	go c.runHA(runCtx, run)
	c.loadReplicaSoon()
	return nil
}

func (c *Core) runHA(ctx context.Context, run *haRun) {
	defer close(run.done)
	for ctx.Err() == nil {
		lost, err := run.lock.Lock(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.logger.Warn("HA lock", "error", err)
			sleepCtx(ctx, time.Second)
			continue
		}
		if err := c.becomeActive(ctx); err != nil {
			if errors.Is(err, barrier.ErrBadRootKey) {
				// The storage was restored from another cluster's data:
				// this node's keys are stale. It seals (sealStale stops
				// this loop and releases the lock) rather than serve.
				c.logger.Warn("the stored keyring does not open with this node's keys (the storage was restored); sealing: unseal with the keys of the restored data", "error", err)
				go c.sealStale()
				return
			}
			c.logger.Error("becoming active failed; stepping down", "error", err)
			_ = run.lock.Unlock(context.Background())
			sleepCtx(ctx, time.Second)
			continue
		}
		select {
		case <-lost:
			c.logger.Warn("lost the HA lock; becoming a standby")
		case <-ctx.Done():
		}
		c.becomeStandby()
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// becomeActive runs the post-unseal setup from storage.
func (c *Core) becomeActive(ctx context.Context) error {
	c.state.Lock()
	defer c.state.Unlock()
	if c.sealed || !c.standby {
		return nil
	}
	if err := c.barrier.Reload(ctx); err != nil {
		return fmt.Errorf("reload keyring: %w", err)
	}
	created, m, err := c.ensureClusterTLS(ctx)
	if err != nil {
		return err
	}
	if created && c.cfg.HA.ClusterTLS != nil {
		if err := c.cfg.HA.ClusterTLS(ctx, m); err != nil {
			return err
		}
	}
	c.teardownLocked() // the standby's replica
	if err := c.postUnseal(ctx); err != nil {
		c.teardownLocked()
		return err
	}
	c.standby = false
	c.standbyNow.Store(false)
	c.activeTime.Store(time.Now().UTC().UnixNano())
	c.logger.Info("node is active")
	return nil
}

// becomeStandby drops everything loaded from storage.
func (c *Core) becomeStandby() {
	c.state.Lock()
	defer c.state.Unlock()
	if c.standby || c.sealed {
		return
	}
	c.teardownLocked()
	c.standby = true
	c.standbyNow.Store(true)
	c.activeTime.Store(0)
	c.logger.Info("node is a standby")
	c.loadReplicaSoon()
}

// teardownLocked stops and forgets what postUnseal set up, leaving the
// barrier unsealed. Safe on a core that never finished postUnseal.
func (c *Core) teardownLocked() {
	c.replica.at.Store(0)
	c.replica.tokens.Store(nil)
	c.stopBackground()
	if c.tokens != nil {
		c.tokens.Stop()
		c.createdBefore.Add(c.tokens.Created())
	}
	if c.leases != nil {
		c.leases.Stop()
	}
	c.closeBackends()
	if c.audit != nil {
		_ = c.audit.Close()
		c.audit, c.auditDevs, c.declared = nil, nil, nil
	}
	c.tokens, c.policies, c.mounts, c.leases, c.quotas = nil, nil, nil, nil, nil
	c.identity = nil
}

// StorageReplaced is told that the data below the core was replaced
// wholesale beneath it: on a Raft follower, by a snapshot installed from
// the leader — an operator's restore on the active node, replicated. A
// standby reloads its keyring; if its keys no longer open the stored one
// (the restore came from another cluster, or from before a root key
// change), it seals, to be unsealed with the keys of the restored data as
// the node that restored is, instead of waiting with stale keys. The
// active node and sealed nodes have nothing to do: the restore itself
// reloads or seals the active node, and an unseal reads everything anew.
func (c *Core) StorageReplaced() {
	c.state.RLock()
	check := !c.sealed && c.standby
	var err error
	if check {
		err = c.barrier.Reload(context.Background())
	}
	c.state.RUnlock()
	if !check || err == nil {
		return
	}
	c.logger.Warn("the storage was restored with keys this node does not hold; sealing: unseal with the keys of the restored data", "error", err)
	c.sealStale()
}

// sealStale seals a node whose keys no longer match the stored data, and
// makes the seal read its configuration (shares, threshold) anew.
func (c *Core) sealStale() {
	c.stopHA()
	c.state.Lock()
	defer c.state.Unlock()
	c.sealLocked()
	c.seal.Reload()
}

// stopHA ends the HA loop (which drops active state) and releases the lock.
// Called without state held.
func (c *Core) stopHA() {
	c.state.Lock()
	run := c.haRun
	c.haRun = nil
	c.state.Unlock()
	if run == nil {
		return
	}
	run.cancel()
	<-run.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = run.lock.Unlock(ctx)
}

// Leader describes the active node as a standby or the active node sees it.
func (c *Core) Leader(ctx context.Context) (*seal.LeaderStatus, error) {
	st := &seal.LeaderStatus{HAEnabled: c.cfg.HA != nil}
	if ri, ok := c.cfg.Storage.(interface {
		AppliedIndex() uint64
		CommitIndex() uint64
	}); ok {
		st.RaftAppliedIndex, st.RaftCommittedIndex = ri.AppliedIndex(), ri.CommitIndex()
	}
	if c.cfg.HA == nil || c.Sealed() {
		return st, nil
	}
	if !c.Standby() {
		st.IsSelf = true
		st.LeaderAddress, st.LeaderClusterAddress = c.cfg.HA.APIAddr, c.cfg.HA.ClusterAddr
		if t := c.activeTime.Load(); t != 0 {
			st.ActiveTime = time.Unix(0, t).UTC()
		}
		return st, nil
	}
	c.state.RLock()
	run := c.haRun
	c.state.RUnlock()
	if run == nil {
		return st, nil
	}
	held, v, err := run.lock.Value(ctx)
	if err != nil || !held {
		return st, err
	}
	var adv Advertisement
	if json.Unmarshal([]byte(v), &adv) == nil {
		st.LeaderAddress, st.LeaderClusterAddress = adv.APIAddr, adv.ClusterAddr
	}
	return st, nil
}

// ClusterTLS is the cluster's own CA and the certificate every node
// presents on the cluster port, kept in the barrier.
type ClusterTLS struct {
	CACert []byte `json:"ca_cert"` // PEM
	Cert   []byte `json:"cert"`    // PEM, signed by CACert
	Key    []byte `json:"key"`     // PEM (PKCS #8)
}

const clusterTLSKey = "core/cluster/tls"

func (c *Core) readClusterTLS(ctx context.Context) (*ClusterTLS, error) {
	e, err := c.barrier.Get(ctx, clusterTLSKey)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cluster TLS: %w", err)
	}
	var m ClusterTLS
	if err := json.Unmarshal(e.Value, &m); err != nil {
		return nil, errors.New("read cluster TLS: malformed entry")
	}
	return &m, nil
}

func (c *Core) ensureClusterTLS(ctx context.Context) (bool, *ClusterTLS, error) {
	m, err := c.readClusterTLS(ctx)
	if err != nil || m != nil {
		return false, m, err
	}
	m, err = newClusterTLS()
	if err != nil {
		return false, nil, err
	}
	raw, _ := json.Marshal(m)
	if err := c.barrier.Put(ctx, &storage.Entry{Key: clusterTLSKey, Value: raw}); err != nil {
		return false, nil, fmt.Errorf("store cluster TLS: %w", err)
	}
	return true, m, nil
}

// StoredClusterTLS returns the cluster TLS material as stored (nil before
// any node has been active), on an active node or a standby: a standby
// that cannot reach the active node reads it again, in case the active
// node made new material (the first active node of a cluster, or the
// first after a restore of data that had none).
func (c *Core) StoredClusterTLS(ctx context.Context) (*ClusterTLS, error) {
	c.state.RLock()
	defer c.state.RUnlock()
	if c.sealed {
		return nil, logical.ErrSealed
	}
	return c.readClusterTLS(ctx)
}

// ClusterTLSMaterial returns the cluster TLS material (active node only).
func (c *Core) ClusterTLSMaterial(ctx context.Context) (*ClusterTLS, error) {
	c.state.RLock()
	defer c.state.RUnlock()
	if err := c.activeCheck(); err != nil {
		return nil, err
	}
	return c.readClusterTLS(ctx)
}

// Join challenges. A node joining a Raft cluster must prove it holds the
// cluster's unseal keys before it is added: the active node stores a
// random challenge through the barrier and hands the joiner the raw
// (encrypted) entries needed to read it back — the seal configuration, the
// sealed root key, the keyring and the challenge. Only with a threshold of
// key shares can the joiner decrypt it.

const challengePrefix = "core/raft/challenge/"

// maxChallenges bounds outstanding challenges (unauthenticated endpoint).
const maxChallenges = 64

// challengeTTL is how long a challenge can be answered.
const challengeTTL = 5 * time.Minute

type challenge struct {
	Nonce   []byte    `json:"nonce"`
	Expires time.Time `json:"expires"`
}

// JoinChallenge creates a challenge for node id and returns the raw
// storage entries the joiner needs, by key.
func (c *Core) JoinChallenge(ctx context.Context, id string) (map[string][]byte, error) {
	if id == "" || len(id) > 128 {
		return nil, logical.InvalidRequest("server_id is required (at most 128 bytes)")
	}
	c.state.RLock()
	defer c.state.RUnlock()
	if err := c.activeCheck(); err != nil {
		return nil, err
	}
	names, err := c.barrier.List(ctx, challengePrefix)
	if err != nil {
		return nil, err
	}
	if len(names) >= maxChallenges {
		// Drop expired ones first.
		for _, n := range names {
			if e, err := c.barrier.Get(ctx, challengePrefix+n); err == nil {
				var ch challenge
				if json.Unmarshal(e.Value, &ch) != nil || time.Now().After(ch.Expires) {
					_ = c.barrier.Delete(ctx, challengePrefix+n)
				}
			}
		}
		if names, err = c.barrier.List(ctx, challengePrefix); err != nil {
			return nil, err
		}
		if len(names) >= maxChallenges {
			return nil, &logical.Error{Kind: logical.KindRateLimited, RetryAfter: time.Minute,
				Messages: []string{"too many outstanding join challenges"}}
		}
	}
	nonce := []byte(randomHex(32))
	raw, _ := json.Marshal(challenge{Nonce: nonce, Expires: time.Now().Add(challengeTTL)})
	key := challengePrefix + challengeName(id)
	if err := c.barrier.Put(ctx, &storage.Entry{Key: key, Value: raw}); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, k := range []string{seal.ConfigKey, seal.RootKeyKey, barrier.KeyringKey, key} {
		e, err := c.cfg.Storage.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", k, err)
		}
		out[k] = e.Value
	}
	return out, nil
}

// challengeName turns a node ID into a storage key segment.
func challengeName(id string) string {
	b := make([]byte, 0, 2*len(id))
	const hexd = "0123456789abcdef"
	for i := 0; i < len(id); i++ {
		b = append(b, hexd[id[i]>>4], hexd[id[i]&15])
	}
	return string(b)
}

// ChallengeKey is where JoinChallenge stored node id's challenge.
func ChallengeKey(id string) string { return challengePrefix + challengeName(id) }

// VerifyJoinAnswer checks (and consumes) node id's answer.
func (c *Core) VerifyJoinAnswer(ctx context.Context, id string, answer []byte) error {
	c.state.RLock()
	defer c.state.RUnlock()
	if c.sealed {
		return logical.ErrSealed
	}
	if c.standby {
		return ErrStandby
	}
	key := challengePrefix + challengeName(id)
	e, err := c.barrier.Get(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return logical.InvalidRequest("no pending join challenge for this server_id")
	}
	if err != nil {
		return err
	}
	_ = c.barrier.Delete(ctx, key)
	var ch challenge
	if json.Unmarshal(e.Value, &ch) != nil || time.Now().After(ch.Expires) ||
		subtle.ConstantTimeCompare(ch.Nonce, answer) != 1 {
		return &logical.Error{Kind: logical.KindPermissionDenied, Messages: []string{"invalid join challenge answer"}}
	}
	return nil
}

// ReadChallenge decrypts a challenge given the raw entries JoinChallenge
// returned and a root key (the joiner's side).
func ReadChallenge(ctx context.Context, under storage.Store, id string, rootKey []byte) ([]byte, error) {
	b := barrier.New(under)
	if err := b.Unseal(ctx, rootKey); err != nil {
		return nil, err
	}
	defer b.Seal()
	e, err := b.Get(ctx, challengePrefix+challengeName(id))
	if err != nil {
		return nil, err
	}
	var ch challenge
	if err := json.Unmarshal(e.Value, &ch); err != nil {
		return nil, errors.New("malformed challenge")
	}
	return ch.Nonce, nil
}

// PhysicalStorage is the store below the barrier (ciphertext), for the
// sys/storage/raft/* endpoints.
func (c *Core) PhysicalStorage() storage.Store { return c.cfg.Storage }
