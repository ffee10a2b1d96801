package raft

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"sync"
	"sync/atomic"
	"time"

	hraft "github.com/hashicorp/raft"
	"go.etcd.io/bbolt"

	"github.com/tresorhq/tresor/internal/storage/listing"
)

// Buckets of the FSM's bolt file: the replicated key/value data, and the
// FSM's own bookkeeping (last applied index, HA value).
var (
	dataBucket = []byte("data")
	metaBucket = []byte("meta")
	appliedKey = []byte("applied")
	haKey      = []byte("ha")
)

// errConflict is an Update whose reads changed before its writes were
// applied; the Update runs again.
var errConflict = errors.New("storage/raft: transaction conflict")

// command is one log entry: preconditions on what a transaction read, then
// its writes, applied together or not at all.
type command struct {
	Checks []check `json:"c,omitempty"`
	Ops    []op    `json:"o,omitempty"`
	// HA, when set, replaces the advertised value of the leader.
	HA *haValue `json:"h,omitempty"`
	// Autopilot, when set, replaces the autopilot configuration.
	Autopilot *AutopilotConfig `json:"a,omitempty"`
	// Group, when set, makes the entry a sequence of commands (and nothing
	// else), each applied or refused on its own as if it were an entry of
	// its own: see group.go.
	Group []command `json:"g,omitempty"`
}

type op struct {
	Key    string `json:"k"`
	Value  []byte `json:"v,omitempty"`
	Delete bool   `json:"d,omitempty"`
}

// check pins what a transaction saw: the hash of a key's value (nil when
// absent) or, for a List, of the names listed under a prefix.
type check struct {
	Key  string `json:"k"`
	List bool   `json:"l,omitempty"`
	Sum  []byte `json:"s,omitempty"`
}

type haValue struct {
	NodeID string `json:"n"`
	Value  string `json:"v"`
}

// fsm is the replicated state machine. Committed log entries are applied,
// in log order, to layers in memory: one layer per batch, readable at once.
// A flusher commits the layers to a bolt file at most every flushInterval
// (one bbolt transaction and its two fsyncs for all the batches of that
// time, instead of for each), and drops them once committed. The Raft log
// is the durable record: an entry is applied only once a quorum holds it,
// and the bolt file stores the index it covers, so after a crash the
// entries above it are applied again from the log. Snapshots flush first,
// so the log is never compacted past what the file holds.
type fsm struct {
	path string

	mu sync.RWMutex // held for writing while a snapshot replaces db
	db *bbolt.DB

	// layers is what was applied and not yet committed to db, newest
	// first; a published slice is never modified. Readers load it before
	// they begin their bolt transaction: a flush commits before it drops
	// layers, so a reader sees every layer either in db or in its slice.
	layers   atomic.Pointer[[]*layer]
	layersMu sync.Mutex // serialises publishing a new slice
	flushMu  sync.Mutex // one commit or merge of layers at a time
	kick     chan struct{}
	quit     chan struct{}
	quitOnce sync.Once
	flusher  sync.WaitGroup
	interval time.Duration

	// applied mirrors the index of the applied state, for waiters.
	appliedMu   sync.Mutex
	applied     uint64
	appliedCond *sync.Cond

	// restored, when set, is told after a snapshot replaced the state.
	restored func()
	// changed, when set, is told the keys each applied batch wrote or
	// deleted (nil: the whole state was replaced), after readers can see
	// them and before the applied index that covers them is published,
	// so a reader waiting for that index never finds a cache older than
	// the data.
	changed atomic.Pointer[func(keys []string)]
}

// flushInterval bounds how long applied entries stay uncommitted to the
// state file, and so how much of the log a restart applies again; a flush
// starts sooner once layers hold flushOps writes or flushBytes of keys and
// values, which bounds their memory. A commit costs little per key but
// much per page it rewrites, and 500 ms of writes rewrite few more pages
// than 50 ms: applying and committing a KV write (three keys among 11,000)
// took about 19 µs of CPU with a commit every 500 ms against 30 µs with
// one every 50 ms (BenchmarkFSMApplyFlush). Three-node writes ran 1.21×
// faster with a commit every second than every 50 ms; 500 ms matched a
// second and held about 8 MB less in memory at its peak.
const (
	flushInterval = 500 * time.Millisecond
	flushOps      = 16384
	flushBytes    = 16 << 20
)

// Layers are merged so that a read searches few maps: once mergeAt batch
// layers are newer than the newest merged layer, the flusher merges them
// into one, and once there are maxMerged merged layers, it merges those.
const (
	mergeAt   = 8
	maxMerged = 8
)

// layer is one applied batch not yet committed to the bolt file, or
// (merged) several consecutive ones.
type layer struct {
	data   map[string]layerValue
	meta   map[string][]byte
	index  uint64 // the last entry the layer applied
	ops    int    // writes it holds, counting rewrites of a key
	bytes  int    // their keys' and values' lengths
	merged bool
}

type layerValue struct {
	v   []byte
	del bool
}

func openFSM(path string) (*fsm, error) { return openFSMEvery(path, flushInterval) }

// openFSMEvery opens the state file with layers committed every interval.
func openFSMEvery(path string, interval time.Duration) (*fsm, error) {
	f := &fsm{path: path, kick: make(chan struct{}, 1), quit: make(chan struct{}), interval: interval}
	f.appliedCond = sync.NewCond(&f.appliedMu)
	f.layers.Store(&[]*layer{})
	if err := f.open(); err != nil {
		return nil, err
	}
	f.flusher.Add(1)
	go f.flushLoop()
	return f, nil
}

func (f *fsm) open() error {
	db, err := bbolt.Open(f.path, 0o600, &bbolt.Options{Timeout: 1e9, NoFreelistSync: true})
	if err != nil {
		return fmt.Errorf("storage/raft: open %s: %w", f.path, err)
	}
	var applied uint64
	err = db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(dataBucket); err != nil {
			return err
		}
		m, err := tx.CreateBucketIfNotExists(metaBucket)
		if err != nil {
			return err
		}
		if v := m.Get(appliedKey); len(v) == 8 {
			applied = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("storage/raft: open %s: %w", f.path, err)
	}
	f.db = db
	f.setApplied(applied)
	return nil
}

// close commits what is applied and closes the state file.
func (f *fsm) close() error {
	f.quitOnce.Do(func() { close(f.quit) })
	f.flusher.Wait()
	f.flush()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.db.Close()
}

func (f *fsm) setApplied(i uint64) {
	f.appliedMu.Lock()
	f.applied = i
	f.appliedMu.Unlock()
	f.appliedCond.Broadcast()
}

func (f *fsm) appliedIndex() uint64 {
	f.appliedMu.Lock()
	defer f.appliedMu.Unlock()
	return f.applied
}

// storedIndex is the index of the state readers see now, which may run
// ahead of appliedIndex while a batch is being published.
func (f *fsm) storedIndex() (uint64, error) {
	var i uint64
	err := f.read(func(st *state) error {
		i = st.index()
		return nil
	})
	return i, err
}

// state is the replicated data as one reader sees it: the bolt file's
// committed contents under the layers applied since, newest first.
type state struct {
	data, meta *bbolt.Bucket
	layers     []*layer
}

// read runs fn on the current state.
func (f *fsm) read(fn func(st *state) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	layers := *f.layers.Load() // before the bolt transaction: see fsm
	return f.db.View(func(tx *bbolt.Tx) error {
		return fn(&state{data: tx.Bucket(dataBucket), meta: tx.Bucket(metaBucket), layers: layers})
	})
}

// get is the value under key, nil when absent.
func (st *state) get(key string) []byte {
	for _, l := range st.layers {
		if v, ok := l.data[key]; ok {
			if v.del {
				return nil
			}
			return v.v
		}
	}
	return st.data.Get([]byte(key))
}

func (st *state) getMeta(key []byte) []byte {
	for _, l := range st.layers {
		if v, ok := l.meta[string(key)]; ok {
			return v
		}
	}
	return st.meta.Get(key)
}

// index is the last entry the state covers.
func (st *state) index() uint64 {
	for _, l := range st.layers {
		if l.index != 0 {
			return l.index
		}
	}
	if v := st.meta.Get(appliedKey); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (st *state) list(prefix string) []string {
	return listing.ListPending(st.data, prefix, st)
}

// Lookup and Each give listing.ListPending the layers' writes.
func (st *state) Lookup(key string) (buffered, deleted bool) {
	for _, l := range st.layers {
		if v, ok := l.data[key]; ok {
			return true, v.del
		}
	}
	return false, false
}

func (st *state) Each(fn func(key string, deleted bool)) {
	for i, l := range st.layers {
	keys:
		for k, v := range l.data {
			for _, newer := range st.layers[:i] {
				if _, ok := newer.data[k]; ok {
					continue keys
				}
			}
			fn(k, v.del)
		}
	}
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *hraft.Log) any { return f.ApplyBatch([]*hraft.Log{l})[0] }

// ApplyBatch implements raft.BatchingFSM: the batch becomes one layer.
// Entries at or below the state's index (applied again from the log after
// a restart) are skipped. Raft calls it from one goroutine, which also
// takes snapshots and restores them.
func (f *fsm) ApplyBatch(logs []*hraft.Log) []any {
	out := make([]any, len(logs))
	if len(logs) == 0 {
		return out
	}
	notify := f.changed.Load()
	var keys []string
	nl := &layer{data: map[string]layerValue{}}
	err := f.read(func(st *state) error {
		applied := st.index()
		st.layers = append([]*layer{nl}, st.layers...)
		for i, l := range logs {
			if l.Index <= applied {
				continue
			}
			nl.index = l.Index
			if l.Type != hraft.LogCommand {
				continue
			}
			c, err := decodeEntry(l.Data)
			if err != nil {
				// Every node must apply every entry: skipping one this
				// node cannot read (a newer format) would silently set
				// it apart from the others. Stop, as below.
				return fmt.Errorf("decode log entry %d: %w", l.Index, err)
			}
			if c.Group == nil {
				out[i] = applyCommand(st, nl, &c, notify != nil, &keys)
				continue
			}
			errs := make(groupResult, len(c.Group))
			for j := range c.Group {
				errs[j] = applyCommand(st, nl, &c.Group[j], notify != nil, &keys)
			}
			out[i] = errs
		}
		return nil
	})
	if err != nil {
		// The state file failed or an entry could not be read: applying
		// on would diverge from the log. Stop the process; a restart
		// applies the log again from the index the state file holds.
		panic(fmt.Sprintf("storage/raft: apply batch: %v", err))
	}
	if nl.index == 0 {
		return out
	}
	f.layersMu.Lock()
	cur := *f.layers.Load()
	next := append([]*layer{nl}, cur...)
	f.layers.Store(&next)
	f.layersMu.Unlock()
	if notify != nil && len(keys) > 0 {
		(*notify)(keys)
	}
	f.setApplied(nl.index)
	select {
	case f.kick <- struct{}{}:
	default:
	}
	return out
}

// flushLoop commits layers: a flushInterval after the first layer since
// the last commit, or sooner once they hold flushOps writes or flushBytes.
func (f *fsm) flushLoop() {
	defer f.flusher.Done()
	var timer *time.Timer
	var due <-chan time.Time
	for {
		select {
		case <-f.quit:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-f.kick:
			if due == nil {
				if timer == nil {
					timer = time.NewTimer(f.interval)
				} else {
					timer.Reset(f.interval)
				}
				due = timer.C
			}
			if ops, size := pendingSize(*f.layers.Load()); ops < flushOps && size < flushBytes {
				f.merge()
				continue
			}
			timer.Stop()
		case <-due:
		}
		due = nil
		f.flush()
	}
}

// merge replaces runs of layers with one layer of the same content, as
// the constants above say. Readers holding the old slice keep reading the
// old layers, which hold the same writes.
func (f *fsm) merge() {
	f.flushMu.Lock() // a flush or a restore would drop the layers read here
	defer f.flushMu.Unlock()
	old := *f.layers.Load()
	fresh := 0
	for fresh < len(old) && !old[fresh].merged {
		fresh++
	}
	if fresh < mergeAt {
		return
	}
	end := fresh
	if len(old)-fresh+1 > maxMerged {
		end = len(old)
	}
	m := mergeLayers(old[:end])
	f.layersMu.Lock()
	defer f.layersMu.Unlock()
	// Only ApplyBatch changed the slice since: it puts new layers in front.
	cur := *f.layers.Load()
	front := len(cur) - len(old)
	next := make([]*layer, 0, front+1+len(old)-end)
	next = append(next, cur[:front]...)
	next = append(next, m)
	next = append(next, old[end:]...)
	f.layers.Store(&next)
}

// mergeLayers is one layer holding what ls (newest first) hold together.
func mergeLayers(ls []*layer) *layer {
	n := 0
	for _, l := range ls {
		n += len(l.data)
	}
	m := &layer{data: make(map[string]layerValue, n), index: ls[0].index, merged: true}
	for i := len(ls) - 1; i >= 0; i-- {
		l := ls[i]
		maps.Copy(m.data, l.data)
		if len(l.meta) > 0 {
			if m.meta == nil {
				m.meta = map[string][]byte{}
			}
			maps.Copy(m.meta, l.meta)
		}
		m.ops += l.ops
		m.bytes += l.bytes
	}
	return m
}

func pendingSize(layers []*layer) (ops, size int) {
	for _, l := range layers {
		ops += l.ops
		size += l.bytes
	}
	return ops, size
}

// flush commits every published layer to the state file, oldest first, in
// one transaction, then drops them.
func (f *fsm) flush() {
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	layers := *f.layers.Load()
	if len(layers) == 0 {
		return
	}
	f.mu.RLock()
	err := f.db.Update(func(tx *bbolt.Tx) error {
		data, meta := tx.Bucket(dataBucket), tx.Bucket(metaBucket)
		for i := len(layers) - 1; i >= 0; i-- {
			l := layers[i]
			for k, v := range l.data {
				var err error
				if v.del {
					err = data.Delete([]byte(k))
				} else {
					err = data.Put([]byte(k), v.v)
				}
				if err != nil {
					return fmt.Errorf("write %q: %w", k, err)
				}
			}
			for k, v := range l.meta {
				if err := meta.Put([]byte(k), v); err != nil {
					return err
				}
			}
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], layers[0].index)
		return meta.Put(appliedKey, b[:])
	})
	f.mu.RUnlock()
	if err != nil {
		// As in ApplyBatch: the node stops, and a restart applies the
		// log again from what the file holds.
		panic(fmt.Sprintf("storage/raft: commit applied state: %v", err))
	}
	f.layersMu.Lock()
	cur := *f.layers.Load()
	rest := append([]*layer(nil), cur[:len(cur)-len(layers)]...)
	f.layers.Store(&rest)
	f.layersMu.Unlock()
}

// applyCommand applies c to l unless its checks, read from st (whose
// newest layer is l), fail (errConflict); with note set, it adds the keys c
// wrote or deleted to keys.
func applyCommand(st *state, l *layer, c *command, note bool, keys *[]string) error {
	if c.Group != nil {
		return errors.New("storage/raft: nested command group")
	}
	for _, ch := range c.Checks {
		if !bytes.Equal(checkSum(st, ch.Key, ch.List), ch.Sum) {
			return errConflict
		}
	}
	for _, o := range c.Ops {
		if o.Delete {
			l.data[o.Key] = layerValue{del: true}
		} else {
			v := o.Value
			if v == nil {
				v = []byte{}
			}
			l.data[o.Key] = layerValue{v: v}
		}
		l.ops++
		l.bytes += len(o.Key) + len(o.Value)
	}
	if c.HA != nil {
		raw, _ := json.Marshal(c.HA)
		l.setMeta(haKey, raw)
	}
	if c.Autopilot != nil {
		raw, _ := json.Marshal(c.Autopilot)
		l.setMeta(autopilotKey, raw)
	}
	if note {
		for _, o := range c.Ops {
			*keys = append(*keys, o.Key)
		}
	}
	return nil
}

func (l *layer) setMeta(key, v []byte) {
	if l.meta == nil {
		l.meta = map[string][]byte{}
	}
	l.meta[string(key)] = v
	l.ops++
	l.bytes += len(key) + len(v)
}

// checkSum is what a check compares: the hash of the value under key (nil
// when absent), or of the names listed under key as a prefix.
func checkSum(st *state, key string, list bool) []byte {
	if list {
		h := sha256.New()
		for _, n := range st.list(key) {
			h.Write([]byte(n))
			h.Write([]byte{0})
		}
		return h.Sum(nil)
	}
	v := st.get(key)
	if v == nil {
		return nil
	}
	s := sha256.Sum256(v)
	return s[:]
}

// Snapshot implements raft.FSM: it commits the layers (Raft calls it
// between batches, so that is everything applied), then a read transaction
// pins the state, and Persist streams the whole bolt file from it.
func (f *fsm) Snapshot() (hraft.FSMSnapshot, error) {
	f.flush()
	f.mu.RLock()
	tx, err := f.db.Begin(false)
	if err != nil {
		f.mu.RUnlock()
		return nil, err
	}
	return &fsmSnapshot{tx: tx, release: f.mu.RUnlock}, nil
}

type fsmSnapshot struct {
	tx      *bbolt.Tx
	release func()
	once    sync.Once
}

func (s *fsmSnapshot) Persist(sink hraft.SnapshotSink) error {
	if _, err := s.tx.WriteTo(sink); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {
	s.once.Do(func() {
		_ = s.tx.Rollback()
		s.release()
	})
}

// Restore implements raft.FSM: the snapshot (a whole bolt file) replaces
// the state file.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	tmp := f.path + ".restore"
	w, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, rc); err != nil {
		_ = w.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("storage/raft: restore snapshot: %w", err)
	}
	if err := w.Sync(); err != nil {
		_ = w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	// Check the file opens as a bolt database before replacing state.
	probe, err := bbolt.Open(tmp, 0o600, &bbolt.Options{Timeout: 1e9, ReadOnly: true})
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage/raft: snapshot is not a state file: %w", err)
	}
	_ = probe.Close()
	// The snapshot replaces what the layers hold too. Raft restores
	// between batches, so no layer is published meanwhile; readers are
	// held off until the new file is open.
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.db.Close(); err != nil {
		return err
	}
	f.layersMu.Lock()
	f.layers.Store(&[]*layer{})
	f.layersMu.Unlock()
	if notify := f.changed.Load(); notify != nil {
		(*notify)(nil) // before open publishes the snapshot's index
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return err
	}
	if err := f.open(); err != nil {
		return err
	}
	if f.restored != nil {
		f.restored()
	}
	return nil
}
