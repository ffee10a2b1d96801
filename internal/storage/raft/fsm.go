package raft

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

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

// fsm is the replicated state machine: a bolt file updated only by
// committed log entries, in log order.
type fsm struct {
	path string

	mu sync.RWMutex // held for writing while a snapshot replaces db
	db *bbolt.DB

	// applied mirrors the applied index stored in db, for waiters.
	appliedMu   sync.Mutex
	applied     uint64
	appliedCond *sync.Cond

	// restored, when set, is told after a snapshot replaced the state.
	restored func()
	// changed, when set, is told the keys each applied batch wrote or
	// deleted (nil: the whole state was replaced), after they are
	// committed and before the applied index that covers them is
	// published, so a reader waiting for that index never finds a cache
	// older than the data.
	changed atomic.Pointer[func(keys []string)]
}

func openFSM(path string) (*fsm, error) {
	f := &fsm{path: path}
	f.appliedCond = sync.NewCond(&f.appliedMu)
	if err := f.open(); err != nil {
		return nil, err
	}
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

func (f *fsm) close() error {
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

// storedIndex is the applied index committed with the current state, which
// may run ahead of appliedIndex while a batch is being published.
func (f *fsm) storedIndex() (uint64, error) {
	var i uint64
	err := f.view(func(tx *bbolt.Tx) error {
		if v := tx.Bucket(metaBucket).Get(appliedKey); len(v) == 8 {
			i = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return i, err
}

// view runs fn in a read transaction on the current state.
func (f *fsm) view(fn func(tx *bbolt.Tx) error) error {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.db.View(fn)
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *hraft.Log) any { return f.ApplyBatch([]*hraft.Log{l})[0] }

// ApplyBatch implements raft.BatchingFSM: every entry of the batch is
// applied in one bolt transaction, so the batch costs one fsync. Entries at
// or below the stored applied index (replayed after a restart) are skipped.
func (f *fsm) ApplyBatch(logs []*hraft.Log) []any {
	out := make([]any, len(logs))
	if len(logs) == 0 {
		return out
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	last := uint64(0)
	notify := f.changed.Load()
	var keys []string
	err := f.db.Update(func(tx *bbolt.Tx) error {
		data, meta := tx.Bucket(dataBucket), tx.Bucket(metaBucket)
		applied := uint64(0)
		if v := meta.Get(appliedKey); len(v) == 8 {
			applied = binary.BigEndian.Uint64(v)
		}
		for i, l := range logs {
			if l.Index <= applied {
				continue
			}
			last = l.Index
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
				out[i] = applyCommand(data, meta, &c, notify != nil, &keys)
				continue
			}
			errs := make(groupResult, len(c.Group))
			for j := range c.Group {
				errs[j] = applyCommand(data, meta, &c.Group[j], notify != nil, &keys)
			}
			out[i] = errs
		}
		if last == 0 {
			return nil
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], last)
		return meta.Put(appliedKey, b[:])
	})
	if err != nil {
		// The state file failed or an entry could not be read: nothing
		// of the batch was applied, and applying on would diverge from
		// the log. Stop the process; a restart replays the log from the
		// last applied index.
		panic(fmt.Sprintf("storage/raft: apply batch: %v", err))
	}
	if last != 0 {
		if notify != nil && len(keys) > 0 {
			(*notify)(keys)
		}
		f.setApplied(last)
	}
	return out
}

// applyCommand applies c unless its checks fail (errConflict); with
// note set, it adds the keys c wrote or deleted to keys.
func applyCommand(data, meta *bbolt.Bucket, c *command, note bool, keys *[]string) error {
	if c.Group != nil {
		return errors.New("storage/raft: nested command group")
	}
	for _, ch := range c.Checks {
		if !bytes.Equal(checkSum(data, ch.Key, ch.List), ch.Sum) {
			return errConflict
		}
	}
	for _, o := range c.Ops {
		var err error
		if o.Delete {
			err = data.Delete([]byte(o.Key))
		} else {
			v := o.Value
			if v == nil {
				v = []byte{}
			}
			err = data.Put([]byte(o.Key), v)
		}
		if err != nil {
			return fmt.Errorf("storage/raft: apply %q: %w", o.Key, err)
		}
	}
	if c.HA != nil {
		raw, _ := json.Marshal(c.HA)
		if err := meta.Put(haKey, raw); err != nil {
			return err
		}
	}
	if c.Autopilot != nil {
		raw, _ := json.Marshal(c.Autopilot)
		if err := meta.Put(autopilotKey, raw); err != nil {
			return err
		}
	}
	if note {
		for _, o := range c.Ops {
			*keys = append(*keys, o.Key)
		}
	}
	return nil
}

// checkSum is what a check compares: the hash of the value under key (nil
// when absent), or of the names listed under key as a prefix.
func checkSum(data *bbolt.Bucket, key string, list bool) []byte {
	if list {
		h := sha256.New()
		for _, n := range listing.List(data, key) {
			h.Write([]byte(n))
			h.Write([]byte{0})
		}
		return h.Sum(nil)
	}
	v := data.Get([]byte(key))
	if v == nil {
		return nil
	}
	s := sha256.Sum256(v)
	return s[:]
}

// Snapshot implements raft.FSM: a read transaction pins the current state,
// and Persist streams the whole bolt file from it.
func (f *fsm) Snapshot() (hraft.FSMSnapshot, error) {
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
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.db.Close(); err != nil {
		return err
	}
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
