// Package raft is a storage.Store replicated with the Raft consensus
// protocol (github.com/hashicorp/raft): Tresor's integrated storage for a
// cluster of nodes, as Vault's storage "raft".
//
// Each node keeps three things under its data directory: the Raft log and
// stable state (raft.db, raft-boltdb), Raft snapshots (snapshots/), and the
// state machine, a bbolt file (fsm.db) holding the replicated key/value
// data. The data is what the barrier above wrote: ciphertext only.
//
// Lifecycle: Open reads the local state (so a sealed node can read its seal
// configuration); Start joins the node to the network through a
// raft.StreamLayer (the server's cluster port), bootstrapping a new one-node
// cluster when asked. Before Start, writes fail with ErrNotStarted.
//
// Writes. Put, Delete and Update return only after their log entry is
// committed by a quorum and applied to the local state machine. Group commit
// happens twice: concurrent writes share log entries (group.go: one entry
// of ours in flight at a time, the writes that arrive meanwhile go together
// in the next), and Raft gathers waiting entries into one log append (one
// fsync) of up to MaxAppendEntries. The state machine applies each
// committed batch to a layer in memory, readable at once, and commits the
// layers to fsm.db every 500 ms in one bbolt transaction: the log is the
// durable record, fsm.db stores the index it covers, and after a crash
// Raft applies the entries above it again (fsm.go). Update is
// optimistic: fn runs against the local state, and the log entry carries a
// hash of everything fn read; the state machine applies the writes only if
// those reads are unchanged, else Update runs fn again. Only the leader
// accepts writes (ErrNotLeader elsewhere).
//
// Reads. On the leader, Get and List are linearizable by the read-index
// method: a read waits for a VerifyLeader round (a heartbeat acknowledged by
// a quorum) that started after the read arrived, then reads the local state,
// which holds every entry acknowledged to a writer (Apply returns after the
// local apply) and, after a leader change, every entry of earlier terms (the
// HA lock runs a Raft barrier before reporting leadership). A deposed leader
// cannot complete that round, so it cannot serve a stale value. Concurrent
// reads share one round. We chose this over a leader lease because it does
// not depend on bounded clock drift. Reads that only pick the capability a
// write needs (the ACL existence check, marked with storage.WithWriteIntent)
// skip the round: the write they precede commits only through this
// leader's log, so a deposed leader fails it. On a follower, reads return
// the local applied state, which may lag: callers bound it with WaitIndex
// (standby reads with X-Vault-Index).
//
// HA: the Store is a storage.HABackend; the lock is held by the Raft leader.
package raft

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	hraft "github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.etcd.io/bbolt"

	"github.com/tresorhq/tresor/internal/coalesce"
	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/listing"
)

// ErrNotStarted is returned by writes before Start.
var ErrNotStarted = errors.New("storage/raft: raft is not running on this node (unseal it or join a cluster first)")

// ErrNotLeader is returned by writes on a node that is not the leader.
var ErrNotLeader = errors.New("storage/raft: node is not the raft leader")

// Options configure Open. They mirror Vault's storage "raft" stanza.
type Options struct {
	// Path is the data directory (created 0700 if missing).
	Path string
	// NodeID names this node in the cluster; default: the contents of
	// Path/node-id, created with a random ID on first start.
	NodeID string
	// PerformanceMultiplier scales Raft's timeouts (1 is the fastest
	// failover, 1-2 s elections on a LAN). Zero means 1.
	PerformanceMultiplier int
	// SnapshotThreshold is how many log entries trigger a snapshot; zero
	// means 8192 as Vault.
	SnapshotThreshold uint64
	// TrailingLogs is how many entries are kept after a snapshot; zero
	// means 10240 as Vault.
	TrailingLogs uint64
	// Logger receives Raft's warnings and errors.
	Logger *slog.Logger

	// fast shortens timeouts (tests of this package) (tests of this package).
	fast bool
}

// ParseOptions reads a storage "raft" stanza's attributes.
func ParseOptions(cfg map[string]string) (Options, error) {
	o := Options{Path: cfg["path"], NodeID: cfg["node_id"]}
	if o.Path == "" {
		return o, errors.New(`storage "raft": path is required`)
	}
	for _, kv := range []struct {
		key string
		dst *uint64
	}{{"snapshot_threshold", &o.SnapshotThreshold}, {"trailing_logs", &o.TrailingLogs}} {
		if s := cfg[kv.key]; s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return o, fmt.Errorf(`storage "raft": %s: not a positive integer`, kv.key)
			}
			*kv.dst = n
		}
	}
	if s := cfg["performance_multiplier"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 10 {
			return o, errors.New(`storage "raft": performance_multiplier: want an integer from 0 to 10`)
		}
		o.PerformanceMultiplier = n
	}
	return o, nil
}

// RetryJoin is one retry_join stanza.
type RetryJoin struct {
	LeaderAPIAddr        string `json:"leader_api_addr"`
	LeaderCACertFile     string `json:"leader_ca_cert_file"`
	LeaderClientCertFile string `json:"leader_client_cert_file"`
	LeaderClientKeyFile  string `json:"leader_client_key_file"`
	LeaderTLSServerName  string `json:"leader_tls_servername"`
}

// ParseRetryJoin decodes the stanza's retry_join blocks (JSON-encoded by
// the config package).
func ParseRetryJoin(cfg map[string]string) ([]RetryJoin, error) {
	s := cfg["retry_join"]
	if s == "" {
		return nil, nil
	}
	var out []RetryJoin
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, errors.New(`storage "raft": retry_join: malformed block`)
	}
	for i, rj := range out {
		if rj.LeaderAPIAddr == "" {
			return nil, fmt.Errorf(`storage "raft": retry_join %d: leader_api_addr is required`, i+1)
		}
	}
	return out, nil
}

// Store is a Raft-replicated storage.Store. It is safe for concurrent use.
type Store struct {
	opts   Options
	nodeID string
	fsm    *fsm
	logs   *raftboltdb.BoltStore
	snaps  *hraft.FileSnapshotStore
	hlog   hclog.Logger

	mu        sync.RWMutex
	r         *hraft.Raft
	transport *hraft.NetworkTransport
	stop      chan struct{}

	// reads shares read-index rounds (VerifyLeader) among concurrent
	// reads (see the package doc).
	reads coalesce.Fresh[struct{}]
	// rounds counts the VerifyLeader rounds reads started.
	rounds atomic.Uint64
	// heldTerm is the Raft term in which this node holds the HA lock
	// (claimed after a barrier in that term); 0 when it does not.
	heldTerm atomic.Uint64
	ha       haState
	health   health
	// retryMu serialises Updates that conflicted once.
	retryMu sync.Mutex
	// onRestore is OnRestore's function, nil until set.
	onRestore atomic.Pointer[func()]
	// group gathers concurrent writes into shared log entries.
	group group
}

var (
	_ storage.Store     = (*Store)(nil)
	_ storage.HABackend = (*Store)(nil)
	_ hraft.BatchingFSM = (*fsm)(nil)
	_ hraft.FSMSnapshot = (*fsmSnapshot)(nil)
)

// Open opens (or creates) the node's local state. It does not touch the
// network.
func Open(opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("storage/raft: path is required")
	}
	if err := os.MkdirAll(opts.Path, 0o700); err != nil {
		return nil, fmt.Errorf("storage/raft: %w", err)
	}
	id, err := nodeID(opts)
	if err != nil {
		return nil, err
	}
	s := &Store{opts: opts, nodeID: id}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s.hlog = hclog.New(&hclog.LoggerOptions{
		Name: "raft", Level: hclog.Warn,
		Output: slogWriter{logger},
	})
	if s.fsm, err = openFSM(filepath.Join(opts.Path, "fsm.db")); err != nil {
		return nil, err
	}
	s.fsm.restored = s.restored
	s.logs, err = raftboltdb.New(raftboltdb.Options{Path: filepath.Join(opts.Path, "raft.db"),
		BoltOptions: &bbolt.Options{Timeout: time.Second, NoFreelistSync: true}})
	if err != nil {
		_ = s.fsm.close()
		return nil, fmt.Errorf("storage/raft: open log: %w", err)
	}
	s.snaps, err = hraft.NewFileSnapshotStoreWithLogger(opts.Path, 2, s.hlog)
	if err != nil {
		_ = s.logs.Close()
		_ = s.fsm.close()
		return nil, fmt.Errorf("storage/raft: open snapshots: %w", err)
	}
	s.ha.init()
	s.health.failing = map[string]time.Time{}
	return s, nil
}

// nodeID is the configured ID, else the one kept in Path/node-id.
func nodeID(opts Options) (string, error) {
	if opts.NodeID != "" {
		return opts.NodeID, nil
	}
	p := filepath.Join(opts.Path, "node-id")
	b, err := os.ReadFile(p)
	if err == nil && len(b) > 0 {
		return string(b), nil
	}
	id := "node-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if err := os.WriteFile(p, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("storage/raft: write node id: %w", err)
	}
	return id, nil
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Warn(string(p), "component", "raft")
	return len(p), nil
}

// NodeID is this node's ID in the cluster.
func (s *Store) NodeID() string { return s.nodeID }

// HasState reports whether this node has ever been part of a cluster
// (bootstrapped or joined and replicated to).
func (s *Store) HasState() (bool, error) {
	return hraft.HasExistingState(s.logs, s.logs, s.snaps)
}

// Started reports whether Start has run.
func (s *Store) Started() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.r != nil
}

func (s *Store) raftConfig() *hraft.Config {
	c := hraft.DefaultConfig()
	m := s.opts.PerformanceMultiplier
	if m <= 0 {
		m = 1
	}
	c.LocalID = hraft.ServerID(s.nodeID)
	c.HeartbeatTimeout *= time.Duration(m)
	c.ElectionTimeout *= time.Duration(m)
	c.LeaderLeaseTimeout *= time.Duration(m)
	if s.opts.fast {
		c.HeartbeatTimeout, c.ElectionTimeout, c.LeaderLeaseTimeout = 400*time.Millisecond, 400*time.Millisecond, 200*time.Millisecond
	}
	c.SnapshotThreshold = 8192
	if s.opts.SnapshotThreshold > 0 {
		c.SnapshotThreshold = s.opts.SnapshotThreshold
	}
	c.TrailingLogs = 10240
	if s.opts.TrailingLogs > 0 {
		c.TrailingLogs = s.opts.TrailingLogs
	}
	c.SnapshotInterval = 2 * time.Minute
	// The state machine is persistent: entries it already holds are
	// skipped by their index, so there is no need to restore the last
	// snapshot over it at start.
	c.NoSnapshotRestoreOnStart = true
	c.MaxAppendEntries = 256
	c.Logger = s.hlog
	return c
}

// logCacheSize is how many of the newest log entries stay decoded in
// memory for replication.
const logCacheSize = 32

// Start runs Raft over layer, whose Addr is this node's cluster address as
// the others reach it. With bootstrap set and no existing state, it makes
// a new cluster of this one node. Start on a started store does nothing.
func (s *Store) Start(layer hraft.StreamLayer, bootstrap bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.r != nil {
		return nil
	}
	trans := hraft.NewNetworkTransportWithConfig(&hraft.NetworkTransportConfig{
		Stream: layer, MaxPool: 3, Timeout: 10 * time.Second, Logger: s.hlog,
	})
	cfg := s.raftConfig()
	if bootstrap {
		has, err := s.HasState()
		if err != nil {
			return err
		}
		if !has {
			conf := hraft.Configuration{Servers: []hraft.Server{{
				Suffrage: hraft.Voter, ID: cfg.LocalID, Address: trans.LocalAddr(),
			}}}
			if err := hraft.BootstrapCluster(cfg, s.logs, s.logs, s.snaps, trans, conf); err != nil {
				_ = trans.Close()
				return fmt.Errorf("storage/raft: bootstrap: %w", err)
			}
		}
	}
	// The leader sends each new entry to every follower; the cache spares
	// it reading back and decoding what it has just stored. It holds the
	// newest logCacheSize entries (a grouped one is bounded at
	// maxGroupBytes, a single write by the request size limit); a follower
	// further behind reads from the store.
	logs, err := hraft.NewLogCache(logCacheSize, s.logs)
	if err != nil {
		_ = trans.Close()
		return fmt.Errorf("storage/raft: log cache: %w", err)
	}
	r, err := hraft.NewRaft(cfg, s.fsm, logs, s.logs, s.snaps, trans)
	if err != nil {
		_ = trans.Close()
		return fmt.Errorf("storage/raft: start: %w", err)
	}
	s.r, s.transport, s.stop = r, trans, make(chan struct{})
	go s.ha.watch(r, s.stop)
	go s.watchHealth(r, s.stop)
	return nil
}

// Stop leaves the network: Raft stops (a sealed node takes no part in the
// cluster) but the local state stays readable; Start runs it again.
func (s *Store) Stop() error {
	s.mu.Lock()
	r, t := s.r, s.transport
	s.r, s.transport = nil, nil
	if s.stop != nil {
		close(s.stop)
		s.stop = nil
	}
	s.heldTerm.Store(0)
	s.mu.Unlock()
	var errs []error
	if r != nil {
		errs = append(errs, r.Shutdown().Error())
		if t != nil {
			errs = append(errs, t.Close())
		}
	}
	return errors.Join(errs...)
}

// Close stops Raft (if started) and closes the local files.
func (s *Store) Close() error {
	err := s.Stop()
	return errors.Join(err, s.logs.Close(), s.fsm.close())
}

func (s *Store) raft() *hraft.Raft {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.r
}

// IsLeader reports whether this node is the Raft leader now.
func (s *Store) IsLeader() bool {
	r := s.raft()
	return r != nil && r.State() == hraft.Leader
}

// AppliedIndex is the index of the last log entry applied to the local
// state machine.
func (s *Store) AppliedIndex() uint64 { return s.fsm.appliedIndex() }

// VisibleIndex is the index of the state a read here sees now. It can run
// ahead of AppliedIndex for the moment between a batch's commit and the
// publication of its index; an index handed to a client (X-Vault-Index)
// must cover what the client saw, so it is this one.
func (s *Store) VisibleIndex() uint64 {
	i, err := s.fsm.storedIndex()
	if err != nil {
		return s.fsm.appliedIndex()
	}
	return i
}

// CommitIndex is the latest index this node knows committed (0 before
// Start).
func (s *Store) CommitIndex() uint64 {
	if r := s.raft(); r != nil {
		return r.CommitIndex()
	}
	return 0
}

// WaitIndex waits until the local state machine has applied index, or ctx
// ends (then it returns ctx.Err()).
func (s *Store) WaitIndex(ctx context.Context, index uint64) error {
	f := s.fsm
	if f.appliedIndex() >= index {
		return nil
	}
	stop := context.AfterFunc(ctx, func() {
		f.appliedMu.Lock()
		f.appliedCond.Broadcast()
		f.appliedMu.Unlock()
	})
	defer stop()
	f.appliedMu.Lock()
	defer f.appliedMu.Unlock()
	for f.applied < index {
		if err := ctx.Err(); err != nil {
			return err
		}
		f.appliedCond.Wait()
	}
	return nil
}

// beforeRead makes a read on the leader linearizable (see the package doc).
// On a node that holds the HA lock (its core is active), a read also needs
// leadership in the term the lock was claimed in: the core learns of a lost
// leadership asynchronously, and until it has, a read of local state on a
// node that is now a follower, or a leader again in a later term whose
// barrier has not run, could miss writes acknowledged by another leader.
// Elsewhere (a standby, which bounds staleness itself with WaitIndex, or a
// node not yet unsealed) it does nothing.
func (s *Store) beforeRead(ctx context.Context) error {
	return s.readCheck(ctx, s.heldTerm.Load())
}

// readCheck is beforeRead for a node that holds the HA lock in term held
// (0: it does not). Reads marked with storage.WithWriteIntent skip the
// VerifyLeader round (see there).
func (s *Store) readCheck(ctx context.Context, held uint64) error {
	r := s.raft()
	if r == nil || r.State() != hraft.Leader {
		if held != 0 {
			return ErrNotLeader
		}
		return nil
	}
	if !storage.WriteIntent(ctx) {
		if err := s.verifyLeader(ctx, r); err != nil {
			return err
		}
	}
	// In the term the lock was claimed in, the barrier has applied every
	// entry of earlier terms, and this leader applies its own before
	// acknowledging them.
	if held != 0 && r.CurrentTerm() != held {
		return ErrNotLeader
	}
	return nil
}

// verifyLeader waits for a VerifyLeader round that started after the call.
func (s *Store) verifyLeader(ctx context.Context, r *hraft.Raft) error {
	_, err := s.reads.Do(ctx, func() (struct{}, error) {
		s.rounds.Add(1)
		return struct{}{}, r.VerifyLeader().Error()
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: %w", ErrNotLeader, err)
	}
	return err
}

// Get implements storage.Store.
func (s *Store) Get(ctx context.Context, key string) (*storage.Entry, error) {
	if err := s.beforeRead(ctx); err != nil {
		return nil, err
	}
	var out *storage.Entry
	err := s.fsm.read(func(st *state) error {
		v := st.get(key)
		if v == nil {
			return storage.ErrNotFound
		}
		out = &storage.Entry{Key: key, Value: append([]byte{}, v...)}
		return nil
	})
	return out, err
}

// List implements storage.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]string, error) {
	if err := s.beforeRead(ctx); err != nil {
		return nil, err
	}
	var out []string
	err := s.fsm.read(func(st *state) error {
		out = st.list(prefix)
		return nil
	})
	return out, err
}

// Put implements storage.Store.
func (s *Store) Put(ctx context.Context, e *storage.Entry) error {
	if e.Key == "" {
		return errors.New("storage/raft: empty key")
	}
	return s.apply(ctx, &command{Ops: []op{{Key: e.Key, Value: e.Value}}})
}

// Delete implements storage.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	return s.apply(ctx, &command{Ops: []op{{Key: key, Delete: true}}})
}

// maxConflicts bounds how often Update reruns fn after conflicts.
const maxConflicts = 1000

// Update implements storage.Store (optimistically: see the package doc).
func (s *Store) Update(ctx context.Context, fn func(tx storage.Tx) error) error {
	for i := range maxConflicts {
		if i == 1 {
			// Contended: retries queue one at a time instead of
			// conflicting with each other again.
			s.retryMu.Lock()
			defer s.retryMu.Unlock()
		}
		t := &tx{s: s, writes: map[string]*op{}, seen: map[string]bool{}}
		var fnErr error
		err := s.fsm.read(func(st *state) error {
			t.st = st
			fnErr = fn(t)
			t.st = nil
			return nil
		})
		if err != nil {
			return err
		}
		if fnErr != nil {
			return fnErr
		}
		if len(t.order) == 0 {
			return nil
		}
		c := &command{Checks: t.checks}
		for _, k := range t.order {
			c.Ops = append(c.Ops, *t.writes[k])
		}
		err = s.apply(ctx, c)
		if errors.Is(err, errConflict) {
			continue
		}
		return err
	}
	return errors.New("storage/raft: transaction kept conflicting with concurrent writes")
}

// tx is the view fn gets inside Update: reads from the state machine's
// current state plus its own pending writes, each first read recorded as a
// check.
type tx struct {
	s      *Store
	st     *state
	writes map[string]*op
	order  []string
	seen   map[string]bool
	checks []check
}

func (t *tx) note(key string, list bool) {
	id := key
	if list {
		id = "\x00list\x00" + key
	}
	if t.seen[id] {
		return
	}
	t.seen[id] = true
	t.checks = append(t.checks, check{Key: key, List: list, Sum: checkSum(t.st, key, list)})
}

func (t *tx) Get(_ context.Context, key string) (*storage.Entry, error) {
	if w, ok := t.writes[key]; ok {
		if w.Delete {
			return nil, storage.ErrNotFound
		}
		return &storage.Entry{Key: key, Value: append([]byte{}, w.Value...)}, nil
	}
	if t.st == nil {
		return nil, errors.New("storage/raft: transaction used after Update returned")
	}
	t.note(key, false)
	v := t.st.get(key)
	if v == nil {
		return nil, storage.ErrNotFound
	}
	return &storage.Entry{Key: key, Value: append([]byte{}, v...)}, nil
}

func (t *tx) List(_ context.Context, prefix string) ([]string, error) {
	if t.st == nil {
		return nil, errors.New("storage/raft: transaction used after Update returned")
	}
	t.note(prefix, true)
	return listing.ListPending(t.st.data, prefix, t), nil
}

// Lookup and Each give listing.ListPending the pending writes over the
// state machine's uncommitted layers.
func (t *tx) Lookup(key string) (buffered, deleted bool) {
	if w, ok := t.writes[key]; ok {
		return true, w.Delete
	}
	return t.st.Lookup(key)
}

func (t *tx) Each(fn func(key string, deleted bool)) {
	for k, w := range t.writes {
		fn(k, w.Delete)
	}
	t.st.Each(func(k string, deleted bool) {
		if _, ok := t.writes[k]; !ok {
			fn(k, deleted)
		}
	})
}

func (t *tx) Put(_ context.Context, e *storage.Entry) error {
	if e.Key == "" {
		return errors.New("storage/raft: empty key")
	}
	t.set(e.Key, &op{Key: e.Key, Value: append([]byte{}, e.Value...)})
	return nil
}

func (t *tx) Delete(_ context.Context, key string) error {
	t.set(key, &op{Key: key, Delete: true})
	return nil
}

func (t *tx) set(key string, o *op) {
	if _, ok := t.writes[key]; !ok {
		t.order = append(t.order, key)
	}
	t.writes[key] = o
}

// WaitLeader waits until the cluster has a leader this node knows of, or
// ctx ends.
func (s *Store) WaitLeader(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		if r := s.raft(); r != nil {
			if addr, _ := r.LeaderWithID(); addr != "" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// OnRestore sets fn, called each time the state machine was replaced by a
// snapshot: an operator's restore (RestoreSnapshot) on the leader, or on a
// follower a snapshot installed from the leader (a restore replicated, or
// a lagging node catching up). The data may then be another cluster's,
// encrypted under keys this node does not hold; fn is where the server
// checks. fn runs on a goroutine of its own once this node knows that the
// cluster committed an entry past the snapshot (or after restoreSettle
// without knowing), so a node that leaves Raft in response (sealing) does
// so only after the restore is committed by a quorum.
func (s *Store) OnRestore(fn func()) { s.onRestore.Store(&fn) }

// OnChange sets fn, told synchronously of every change the state machine
// applies, on every node: the keys a committed batch wrote or deleted, or
// nil when a snapshot replaced the whole state. It runs before the applied
// index covering the change is published (WaitIndex, AppliedIndex), so a
// follower that invalidates its caches in fn never serves a read at that
// index from an older cache. fn must be quick and must not wait on
// anything that waits on the state machine (a write, a lock held across
// one).
func (s *Store) OnChange(fn func(keys []string)) { s.fsm.changed.Store(&fn) }

// ReadIndex returns an index that covers every write acknowledged before
// the call: on the lock holder, after the check that makes its own reads
// linearizable, its applied index. A follower that has applied that
// index can answer a read as the leader would have (standby reads).
// Elsewhere it fails with ErrNotLeader.
func (s *Store) ReadIndex(ctx context.Context) (uint64, error) {
	held := s.heldTerm.Load()
	if held == 0 {
		return 0, ErrNotLeader
	}
	if err := s.readCheck(ctx, held); err != nil {
		return 0, err
	}
	// The index stored with the data, not the published one: a batch's
	// data is visible to readers (a failed check-and-set among them) a
	// moment before its index is published, and the read index must cover
	// everything a client could have seen.
	return s.fsm.storedIndex()
}

// restoreSettle bounds how long OnRestore's function waits for the
// restore to be committed.
const restoreSettle = 10 * time.Second

// restored is the state machine's notice that a snapshot replaced it.
func (s *Store) restored() {
	fn := s.onRestore.Load()
	if fn == nil {
		return
	}
	// The snapshot being installed is already in the snapshot store, the
	// newest one.
	var index uint64
	if metas, err := s.snaps.List(); err == nil && len(metas) > 0 {
		index = metas[0].Index
	}
	go func() {
		deadline := time.Now().Add(restoreSettle)
		for time.Now().Before(deadline) {
			r := s.raft()
			if r == nil || r.CommitIndex() > index {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		(*fn)()
	}()
}
