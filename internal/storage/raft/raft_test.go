package raft

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return newSingle(t) })
}

func TestParseOptions(t *testing.T) {
	tests := map[string]struct {
		in      map[string]string
		wantErr bool
	}{
		"minimal":               {in: map[string]string{"path": "/d"}},
		"all":                   {in: map[string]string{"path": "/d", "node_id": "a", "performance_multiplier": "2", "snapshot_threshold": "100", "trailing_logs": "50"}},
		"no path":               {in: map[string]string{}, wantErr: true},
		"bad multiplier":        {in: map[string]string{"path": "/d", "performance_multiplier": "x"}, wantErr: true},
		"negative multiplier":   {in: map[string]string{"path": "/d", "performance_multiplier": "-1"}, wantErr: true},
		"bad snapshot treshold": {in: map[string]string{"path": "/d", "snapshot_threshold": "-3"}, wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseOptions(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
		})
	}
}

func TestParseRetryJoin(t *testing.T) {
	got, err := ParseRetryJoin(map[string]string{"retry_join": `[{"leader_api_addr":"https://a:8200"},{"leader_api_addr":"https://b:8200","leader_ca_cert_file":"/ca.pem"}]`})
	if err != nil || len(got) != 2 || got[1].LeaderCACertFile != "/ca.pem" {
		t.Fatalf("got %+v, %v", got, err)
	}
	for name, in := range map[string]string{"malformed": `{`, "no addr": `[{}]`} {
		if _, err := ParseRetryJoin(map[string]string{"retry_join": in}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestWritesBeforeStart(t *testing.T) {
	s := openNode(t, "", "n1")
	defer s.Close()
	if err := s.Put(t.Context(), &storage.Entry{Key: "a", Value: []byte("b")}); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Put before Start: %v, want ErrNotStarted", err)
	}
	if _, err := s.Get(t.Context(), "a"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get before Start: %v, want ErrNotFound", err)
	}
}

// TestRestartKeepsState: a restarted node serves what it had applied, and
// replays nothing twice.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	s := openNode(t, dir, "n1")
	if err := s.Start(newLayer(t), true); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, s)
	for i := range 50 {
		if err := s.Put(ctxT(t), &storage.Entry{Key: fmt.Sprintf("k/%02d", i), Value: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openNode(t, dir, "n1")
	defer s.Close()
	// Before Start: the local state is readable.
	if e, err := s.Get(t.Context(), "k/49"); err != nil || e.Value[0] != 49 {
		t.Fatalf("Get before Start: %v %v", e, err)
	}
	if err := s.Start(newLayer(t), true); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, s)
	names, err := s.List(ctxT(t), "k/")
	if err != nil || len(names) != 50 {
		t.Fatalf("List = %d names, %v", len(names), err)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	a := newSingle(t)
	for i := range 20 {
		if err := a.Put(ctxT(t), &storage.Entry{Key: fmt.Sprintf("k%02d", i), Value: []byte("a")}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := a.SaveSnapshot(&buf, testSeal); err != nil {
		t.Fatal(err)
	}
	b := newSingle(t)
	for i := range 200 { // b's log runs ahead of a's
		if err := b.Put(ctxT(t), &storage.Entry{Key: "other", Value: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	good := buf.Bytes()
	for name, bad := range map[string][]byte{
		"truncated": good[:len(good)-10],
		"flipped":   flipByte(good, len(good)/2),
		"empty":     nil,
		"trailing":  append(append([]byte{}, good...), 'x'),
	} {
		if err := b.RestoreSnapshot(bytes.NewReader(bad), nil); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("%s snapshot: %v, want ErrBadSnapshot", name, err)
		}
	}
	if _, err := b.Get(ctxT(t), "other"); err != nil {
		t.Fatalf("refused restore changed the data: %v", err)
	}
	if err := b.RestoreSnapshot(bytes.NewReader(good), func([]byte, []byte) error { return errors.New("other cluster") }); !errors.Is(err, ErrForeignSnapshot) {
		t.Fatalf("foreign snapshot without force: %v", err)
	}
	if err := b.RestoreSnapshot(bytes.NewReader(good), testVerify); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Get(ctxT(t), "other"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after restore, other = %v, want ErrNotFound", err)
	}
	if e, err := b.Get(ctxT(t), "k19"); err != nil || string(e.Value) != "a" {
		t.Fatalf("after restore, k19 = %v, %v", e, err)
	}
	// Writes after the restore are applied (the restored file's applied
	// index does not hide them).
	if err := b.Put(ctxT(t), &storage.Entry{Key: "after", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if e, err := b.Get(ctxT(t), "after"); err != nil || string(e.Value) != "x" {
		t.Fatalf("after = %v, %v", e, err)
	}
}

func testSeal(sums []byte) ([]byte, error) { return append([]byte("mac:"), sums...), nil }

func testVerify(sums, sealed []byte) error {
	if !bytes.Equal(sealed, append([]byte("mac:"), sums...)) {
		return errors.New("bad mac")
	}
	return nil
}

func flipByte(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 0xff
	return c
}

// cluster starts n nodes: the first bootstraps, the others are added.
func cluster(t testing.TB, n int) []*Store {
	t.Helper()
	nodes := make([]*Store, n)
	for i := range n {
		nodes[i] = openNode(t, "", fmt.Sprintf("n%d", i+1))
		t.Cleanup(func() { _ = nodes[i].Close() })
		l := newLayer(t)
		if err := nodes[i].Start(l, i == 0); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			waitLeader(t, nodes[0])
			continue
		}
		// A busy machine can cost the leader its leadership; retry
		// through whichever node leads.
		var err error
		for try := 0; try < 20; try++ {
			for _, n := range nodes[:i] {
				if n.IsLeader() {
					if err = n.AddVoter(nodes[i].NodeID(), l.Addr().String()); err == nil {
						break
					}
				}
			}
			if err == nil && nodes[i].raft() != nil {
				if conf, cerr := nodes[0].Configuration(); cerr == nil && len(conf.Servers) == i+1 {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

// leaderOf waits (a busy machine may move leadership) for one of nodes to
// lead and returns it.
func leaderOf(t *testing.T, nodes []*Store) *Store {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if i := slices.IndexFunc(nodes, (*Store).IsLeader); i >= 0 {
			return nodes[i]
		}
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestThreeNodes(t *testing.T) {
	nodes := cluster(t, 3)
	// Put the leader first (a busy machine may have moved leadership).
	leader := leaderOf(t, nodes)
	i := slices.Index(nodes, leader)
	nodes[0], nodes[i] = nodes[i], nodes[0]
	lk, _ := leader.HALock("core/lock", "n1-addr")
	lost, err := lk.Lock(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := leader.Put(ctxT(t), &storage.Entry{Key: "a", Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	idx := leader.AppliedIndex()
	for _, f := range nodes[1:] {
		if err := f.Put(ctxT(t), &storage.Entry{Key: "b", Value: []byte("x")}); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("write on follower: %v, want ErrNotLeader", err)
		}
		if err := f.WaitIndex(ctxT(t), idx); err != nil {
			t.Fatal(err)
		}
		if e, err := f.Get(ctxT(t), "a"); err != nil || string(e.Value) != "1" {
			t.Fatalf("follower read: %v %v", e, err)
		}
		fl, _ := f.HALock("core/lock", "other")
		held, v, err := fl.Value(ctxT(t))
		if err != nil || !held || v != "n1-addr" {
			t.Fatalf("follower Value = %v %q %v", held, v, err)
		}
	}
	conf, err := leader.Configuration()
	if err != nil || len(conf.Servers) != 3 || !slices.ContainsFunc(conf.Servers, func(p Peer) bool { return p.Leader && p.NodeID == leader.NodeID() }) {
		t.Fatalf("configuration: %+v %v", conf, err)
	}

	// The leader goes away: another node takes the lock, with every
	// acknowledged write.
	if err := leader.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("lost channel not closed after shutdown")
	}
	type res struct {
		i   int
		err error
	}
	done := make(chan res, 2)
	for i, f := range nodes[1:] {
		go func() {
			l, _ := f.HALock("core/lock", fmt.Sprintf("n%d-addr", i+2))
			_, err := l.Lock(ctxT(t))
			done <- res{i + 1, err}
		}()
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	nl := nodes[r.i]
	if e, err := nl.Get(ctxT(t), "a"); err != nil || string(e.Value) != "1" {
		t.Fatalf("new leader read: %v %v", e, err)
	}
	if err := nl.Put(ctxT(t), &storage.Entry{Key: "c", Value: []byte("2")}); err != nil {
		t.Fatal(err)
	}
	if err := nl.RemovePeer(leader.NodeID()); err != nil {
		t.Fatal(err)
	}
	conf, _ = nl.Configuration()
	if len(conf.Servers) != 2 {
		t.Fatalf("after remove: %+v", conf)
	}
}

// TestRestoreNotifiesEveryNode: a snapshot restored on the leader replaces
// every node's state (the followers install it from the leader), and each
// node's OnRestore function runs once the restore is committed.
func TestRestoreNotifiesEveryNode(t *testing.T) {
	a := newSingle(t)
	if err := a.Put(ctxT(t), &storage.Entry{Key: "from-a", Value: []byte("a")}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.SaveSnapshot(&buf, testSeal); err != nil {
		t.Fatal(err)
	}
	nodes := cluster(t, 3)
	notified := make(chan string, 16)
	for _, n := range nodes {
		n.OnRestore(func() { notified <- n.NodeID() })
	}
	leader := leaderOf(t, nodes)
	if err := leader.Put(ctxT(t), &storage.Entry{Key: "old", Value: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	if err := leader.RestoreSnapshot(bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(seen) < len(nodes) {
		select {
		case id := <-notified:
			seen[id] = true
		case <-timeout:
			t.Fatalf("OnRestore ran on %v only", seen)
		}
	}
	for _, n := range nodes {
		if e, err := n.Get(ctxT(t), "from-a"); err != nil || string(e.Value) != "a" {
			t.Errorf("%s after the restore: from-a = %v, %v", n.NodeID(), e, err)
		}
		if _, err := n.Get(ctxT(t), "old"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("%s after the restore: old = %v, want ErrNotFound", n.NodeID(), err)
		}
	}
}

// TestReadIndexAndChanges: only the lock holder hands out a read index,
// which covers its acknowledged writes; followers are told of each change
// before the index covering it is published, so whoever waits for that
// index finds its caches already invalidated.
func TestReadIndexAndChanges(t *testing.T) {
	nodes := cluster(t, 3)
	leader := leaderOf(t, nodes)
	if _, err := leader.ReadIndex(ctxT(t)); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("read index before the lock is held: %v, want ErrNotLeader", err)
	}
	lk, _ := leader.HALock("core/lock", "v")
	if _, err := lk.Lock(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	type seen struct {
		keys      []string
		published uint64
	}
	notes := make(map[*Store]chan seen)
	for _, n := range nodes {
		if n == leader {
			continue
		}
		ch := make(chan seen, 64)
		notes[n] = ch
		n.OnChange(func(keys []string) {
			select {
			case ch <- seen{keys: keys, published: n.AppliedIndex()}:
			default:
			}
		})
		if _, err := n.ReadIndex(ctxT(t)); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("read index on a follower: %v, want ErrNotLeader", err)
		}
	}
	if err := leader.Put(ctxT(t), &storage.Entry{Key: "ri/a", Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	written := leader.AppliedIndex()
	idx, err := leader.ReadIndex(ctxT(t))
	if err != nil || idx < written {
		t.Fatalf("read index = %d, %v; want at least %d", idx, err, written)
	}
	for n, ch := range notes {
		if err := n.WaitIndex(ctxT(t), idx); err != nil {
			t.Fatal(err)
		}
		for found := false; !found; {
			select {
			case s := <-ch:
				if slices.Contains(s.keys, "ri/a") {
					found = true
					if s.published >= written {
						t.Fatalf("follower told of ri/a with index %d already published (write at %d)", s.published, written)
					}
				}
			default:
				t.Fatal("follower reached the read index without being told of ri/a")
			}
		}
	}
}

// TestWriteIntentReadsSkipTheRound: on the leader, a read marked with
// storage.WithWriteIntent (the existence check before a write) answers from
// the local state without a VerifyLeader round; an ordinary read runs one.
func TestWriteIntentReadsSkipTheRound(t *testing.T) {
	nodes := cluster(t, 3)
	leader := leaderOf(t, nodes)
	lk, _ := leader.HALock("core/lock", "v")
	if _, err := lk.Lock(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := leader.Put(ctxT(t), &storage.Entry{Key: "wi/a", Value: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	before := leader.rounds.Load()
	ctx := storage.WithWriteIntent(ctxT(t))
	for range 3 {
		e, err := leader.Get(ctx, "wi/a")
		if err != nil || string(e.Value) != "1" {
			t.Fatalf("write-intent get = %v, %v", e, err)
		}
		if _, err := leader.List(ctx, "wi/"); err != nil {
			t.Fatal(err)
		}
	}
	if n := leader.rounds.Load() - before; n != 0 {
		t.Fatalf("write-intent reads ran %d rounds", n)
	}
	if _, err := leader.Get(ctxT(t), "wi/a"); err != nil {
		t.Fatal(err)
	}
	if leader.rounds.Load() == before {
		t.Fatal("an ordinary read ran no round")
	}
}
