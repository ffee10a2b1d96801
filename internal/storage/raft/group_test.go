package raft

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"

	"github.com/tresorhq/tresor/internal/storage"
)

// TestGroupCommit: concurrent writes and conflicting transactions share log
// entries, and every one of them lands exactly once, on every node.
func TestGroupCommit(t *testing.T) {
	nodes := cluster(t, 3)
	leader := leaderOf(t, nodes)
	const writers, each = 48, 15
	// run runs fn(w, i) for each writer w and step i, writers in parallel.
	run := func(fn func(w, i int) error) {
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					if err := fn(w, i); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	before := leader.raft().LastIndex()
	run(func(w, i int) error {
		return leader.Put(ctxT(t), &storage.Entry{Key: fmt.Sprintf("g/%02d/%02d", w, i), Value: []byte{byte(w), byte(i)}})
	})
	if used := leader.raft().LastIndex() - before; used >= writers*each {
		t.Errorf("%d puts took %d log entries: none were grouped", writers*each, used)
	}
	// A read-modify-write of one shared key: every increment must survive
	// the others in its entry.
	run(func(w, i int) error {
		return leader.Update(ctxT(t), func(tx storage.Tx) error {
			n := 0
			if e, err := tx.Get(ctxT(t), "g/counter"); err == nil {
				n, _ = strconv.Atoi(string(e.Value))
			} else if !errors.Is(err, storage.ErrNotFound) {
				return err
			}
			return tx.Put(ctxT(t), &storage.Entry{Key: "g/counter", Value: []byte(strconv.Itoa(n + 1))})
		})
	})
	for _, n := range nodes {
		if err := n.WaitIndex(ctxT(t), leader.AppliedIndex()); err != nil {
			t.Fatal(err)
		}
		keys, err := n.List(ctxT(t), "g/")
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != writers+1 {
			t.Fatalf("%s lists %d entries under g/, want %d", n.NodeID(), len(keys), writers+1)
		}
		e, err := n.Get(ctxT(t), "g/counter")
		if err != nil || string(e.Value) != strconv.Itoa(writers*each) {
			t.Fatalf("%s: counter = %v, %v; want %d", n.NodeID(), e, err, writers*each)
		}
		for w := range writers {
			for i := range each {
				e, err := n.Get(ctxT(t), fmt.Sprintf("g/%02d/%02d", w, i))
				if err != nil || !slices.Equal(e.Value, []byte{byte(w), byte(i)}) {
					t.Fatalf("%s: writer %d's value %d = %v, %v", n.NodeID(), w, i, e, err)
				}
			}
		}
	}
}

// TestGroupWritersReturnWhenStopped: writes queued behind an entry in
// flight are all answered, with success or an error, when the node stops
// in the middle of a burst: none is left waiting.
func TestGroupWritersReturnWhenStopped(t *testing.T) {
	nodes := cluster(t, 3)
	leader := leaderOf(t, nodes)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 32 {
		wg.Go(func() {
			for i := 0; ; i++ {
				err := leader.Put(ctxT(t), &storage.Entry{Key: fmt.Sprintf("s/%02d/%d", w, i), Value: []byte("v")})
				if err != nil {
					failed.Add(1)
					return
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := leader.Stop(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("writers still waiting a minute after the node stopped")
	}
	if failed.Load() != 32 {
		t.Fatalf("%d writers saw an error, want all 32", failed.Load())
	}
}

// TestApplyGroupEntry: each command of a group is applied or refused on its
// own, in order, and only applied ones are reported as changes.
func TestApplyGroupEntry(t *testing.T) {
	f, err := openFSM(t.TempDir() + "/fsm.db")
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	var changed []string
	fn := func(keys []string) { changed = append(changed, keys...) }
	f.changed.Store(&fn)
	entry := func(index uint64, c command) *hraft.Log {
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return &hraft.Log{Index: index, Type: hraft.LogCommand, Data: data}
	}
	absent := check{Key: "a"} // "a" must not exist
	group := command{Group: []command{
		{Checks: []check{absent}, Ops: []op{{Key: "a", Value: []byte("1")}}},
		{Checks: []check{absent}, Ops: []op{{Key: "a", Value: []byte("2")}}}, // sees the first: conflict
		{Ops: []op{{Key: "b", Value: []byte("3")}}},
		{Group: []command{{Ops: []op{{Key: "c"}}}}}, // nested: refused
	}}
	// The same in the binary form written now (no nested group: the
	// encoder refuses it).
	binGroup, err := encodeEntry(&command{Group: []command{
		{Ops: []op{{Key: "e", Value: []byte("5")}}},
		{Checks: []check{{Key: "e"}}, Ops: []op{{Key: "e", Value: []byte("6")}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out := f.ApplyBatch([]*hraft.Log{
		entry(1, group), entry(2, command{Ops: []op{{Key: "d", Delete: true}}}),
		{Index: 3, Type: hraft.LogCommand, Data: binGroup},
	})
	res, ok := out[0].(groupResult)
	if !ok || len(res) != 4 {
		t.Fatalf("group answer = %#v", out[0])
	}
	if res[0] != nil || !errors.Is(res[1], errConflict) || res[2] != nil || res[3] == nil {
		t.Fatalf("group answer = %v", res)
	}
	if out[1] != nil {
		t.Fatalf("plain entry answer = %v", out[1])
	}
	if res, ok := out[2].(groupResult); !ok || len(res) != 2 || res[0] != nil || !errors.Is(res[1], errConflict) {
		t.Fatalf("binary group answer = %#v", out[2])
	}
	if !slices.Equal(changed, []string{"a", "b", "d", "e"}) {
		t.Fatalf("changes = %q", changed)
	}
	var a []byte
	_ = f.read(func(st *state) error { a = append(a, st.get("a")...); return nil })
	if string(a) != "1" {
		t.Fatalf("a = %q, want the first write", a)
	}
	if f.appliedIndex() != 3 {
		t.Fatalf("applied index = %d", f.appliedIndex())
	}
}

// TestGroupTakeBounds: an entry never holds more than maxGroupCommands commands
// or (beyond its first) maxGroupBytes, and takes waiting writes in order.
func TestGroupTakeBounds(t *testing.T) {
	small := func() *pending { return &pending{c: &command{Ops: []op{{Key: "k", Value: []byte("v")}}}} }
	big := func() *pending {
		return &pending{c: &command{Ops: []op{{Key: "k", Value: make([]byte, maxGroupBytes/3)}}}}
	}
	tests := map[string]struct {
		lead     *pending
		queue    []*pending
		want     int // commands in the entry, lead included
		wantLeft int // left in the queue
	}{
		"empty queue":       {lead: small(), want: 1},
		"all small":         {lead: small(), queue: repeat(small, 10), want: 11},
		"capped by count":   {lead: small(), queue: repeat(small, maxGroupCommands+5), want: maxGroupCommands, wantLeft: 6},
		"capped by size":    {lead: small(), queue: repeat(big, 5), want: 3, wantLeft: 3},
		"huge lead alone":   {lead: &pending{c: &command{Ops: []op{{Key: "k", Value: make([]byte, 2*maxGroupBytes)}}}}, queue: repeat(small, 3), want: 1, wantLeft: 3},
		"order is kept too": {lead: small(), queue: repeat(small, 2), want: 3},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			g := &group{queue: slices.Clone(tc.queue)}
			batch := g.take(tc.lead)
			if len(batch) != tc.want || len(g.queue) != tc.wantLeft {
				t.Fatalf("took %d, left %d; want %d, %d", len(batch), len(g.queue), tc.want, tc.wantLeft)
			}
			if batch[0] != tc.lead {
				t.Fatal("the entry does not start with its flusher's own write")
			}
			for i, p := range batch[1:] {
				if p != tc.queue[i] {
					t.Fatalf("entry item %d is not the queue's item %d", i+1, i)
				}
			}
		})
	}
}

func repeat(f func() *pending, n int) []*pending {
	out := make([]*pending, n)
	for i := range out {
		out[i] = f()
	}
	return out
}
