package raft

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/tresorhq/tresor/internal/storage"
)

// haState follows this node's Raft leadership: gen counts changes and
// changed is closed (and replaced) at each one. A leadership lost and won
// back counts as a change even if Raft's notifications of it collapsed
// into one (its channel keeps only the newest): the term differs.
type haState struct {
	mu      sync.Mutex
	leader  bool
	term    uint64
	gen     uint64
	changed chan struct{}
}

func (h *haState) init() { h.changed = make(chan struct{}) }

func (h *haState) watch(r *hraft.Raft, stop <-chan struct{}) {
	ch := r.LeaderCh()
	for {
		select {
		case v := <-ch:
			h.set(v, r.CurrentTerm())
		case <-stop:
			h.set(false, 0)
			return
		}
	}
}

func (h *haState) set(leader bool, term uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.leader == leader && (!leader || h.term == term) {
		return
	}
	h.leader, h.term = leader, term
	h.gen++
	close(h.changed)
	h.changed = make(chan struct{})
}

func (h *haState) current() (leader bool, gen uint64, changed <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.leader, h.gen, h.changed
}

// HALock implements storage.HABackend: the lock is held by the Raft
// leader, and value is replicated so followers can name it. key is
// ignored: a Raft cluster has one leader.
func (s *Store) HALock(_, value string) (storage.Lock, error) {
	return &lock{s: s, value: value}, nil
}

type lock struct {
	s     *Store
	value string
}

// Lock waits for this node to lead, then makes sure its state machine holds
// every earlier entry (a barrier) and records its advertised value. The
// returned channel closes when leadership is lost.
func (l *lock) Lock(ctx context.Context) (<-chan struct{}, error) {
	for {
		leader, gen, changed := l.s.ha.current()
		if leader {
			if lost, ok := l.claim(ctx, gen); ok {
				return lost, nil
			}
		}
		wait := changed
		if leader {
			// Leading but the claim failed: retry shortly.
			t := time.NewTimer(200 * time.Millisecond)
			select {
			case <-t.C:
			case <-wait:
				t.Stop()
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
			continue
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *lock) claim(ctx context.Context, gen uint64) (<-chan struct{}, bool) {
	r := l.s.raft()
	if r == nil {
		return nil, false
	}
	term := r.CurrentTerm()
	if err := r.Barrier(applyTimeout).Error(); err != nil {
		return nil, false
	}
	err := l.s.apply(ctx, &command{HA: &haValue{NodeID: l.s.nodeID, Value: l.value}})
	if err != nil {
		return nil, false
	}
	lost := make(chan struct{})
	l.s.heldTerm.Store(term)
	go func() {
		defer close(lost)
		defer l.s.heldTerm.CompareAndSwap(term, 0)
		for {
			leader, g, changed := l.s.ha.current()
			if !leader || g != gen {
				return
			}
			<-changed
		}
	}()
	// Leadership may have changed between the barrier and now.
	if leader, g, _ := l.s.ha.current(); !leader || g != gen || r.CurrentTerm() != term {
		l.s.heldTerm.CompareAndSwap(term, 0)
		<-lost
		return nil, false
	}
	return lost, true
}

// Unlock hands leadership to another voter if this node leads.
func (l *lock) Unlock(context.Context) error {
	r := l.s.raft()
	if r == nil || r.State() != hraft.Leader {
		return nil
	}
	if len(r.GetConfiguration().Configuration().Servers) < 2 {
		return nil
	}
	return r.LeadershipTransfer().Error()
}

// Value reports the current leader's advertised value, read from the local
// state machine.
func (l *lock) Value(context.Context) (bool, string, error) {
	r := l.s.raft()
	if r == nil {
		return false, "", nil
	}
	_, id := r.LeaderWithID()
	if id == "" {
		return false, "", nil
	}
	var v haValue
	err := l.s.fsm.read(func(st *state) error {
		raw := st.getMeta(haKey)
		if raw == nil {
			return nil
		}
		return json.Unmarshal(raw, &v)
	})
	if err != nil || v.NodeID != string(id) {
		return false, "", err
	}
	return true, v.Value, nil
}
