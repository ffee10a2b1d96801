package raft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	hraft "github.com/hashicorp/raft"
	"go.etcd.io/bbolt"

	"github.com/tresorhq/tresor/internal/storage"
)

// never keeps layers uncommitted until a test flushes them.
const never = time.Hour

func putEntry(t *testing.T, index uint64, ops ...op) *hraft.Log {
	t.Helper()
	data, err := encodeEntry(&command{Ops: ops})
	if err != nil {
		t.Fatal(err)
	}
	return &hraft.Log{Index: index, Type: hraft.LogCommand, Data: data}
}

// newFSM opens a state machine in a temporary directory, closed at the end
// of the test.
func newFSM(t *testing.T, interval time.Duration) *fsm {
	t.Helper()
	f, err := openFSMEvery(t.TempDir()+"/fsm.db", interval)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.close() })
	return f
}

func put(k, v string) op { return op{Key: k, Value: []byte(v)} }
func del(k string) op    { return op{Key: k, Delete: true} }

// committed is what the bolt file itself holds under key.
func committed(t *testing.T, f *fsm, key string) []byte {
	t.Helper()
	var v []byte
	err := f.db.View(func(tx *bbolt.Tx) error {
		v = append(v, tx.Bucket(dataBucket).Get([]byte(key))...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func readKey(t *testing.T, f *fsm, key string) []byte {
	t.Helper()
	var v []byte
	if err := f.read(func(st *state) error { v = append(v, st.get(key)...); return nil }); err != nil {
		t.Fatal(err)
	}
	return v
}

func listKeys(t *testing.T, f *fsm, prefix string) []string {
	t.Helper()
	var out []string
	if err := f.read(func(st *state) error { out = st.list(prefix); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFSMLayers: an applied batch is readable at once, reaches the bolt
// file only at a flush, and a flush leaves the state readers see unchanged.
func TestFSMLayers(t *testing.T) {
	f := newFSM(t, never)
	f.ApplyBatch([]*hraft.Log{putEntry(t, 1, put("a", "1"), put("b", "1"))})
	f.ApplyBatch([]*hraft.Log{putEntry(t, 2, put("a", "2"), del("b"))})
	if got := readKey(t, f, "a"); string(got) != "2" {
		t.Fatalf("a = %q before the flush", got)
	}
	if got := readKey(t, f, "b"); got != nil {
		t.Fatalf("deleted b = %q", got)
	}
	if got := committed(t, f, "a"); got != nil {
		t.Fatalf("the file holds a = %q before any flush", got)
	}
	if i, _ := f.storedIndex(); i != 2 || f.appliedIndex() != 2 {
		t.Fatalf("indexes = %d, %d", i, f.appliedIndex())
	}
	f.flush()
	if n := len(*f.layers.Load()); n != 0 {
		t.Fatalf("%d layers after the flush", n)
	}
	if got := committed(t, f, "a"); string(got) != "2" {
		t.Fatalf("the file holds a = %q after the flush", got)
	}
	if got := committed(t, f, "b"); got != nil {
		t.Fatalf("the file holds deleted b = %q", got)
	}
	if i, _ := f.storedIndex(); i != 2 {
		t.Fatalf("stored index after the flush = %d", i)
	}
}

// TestFSMFlushesByItself: without a flush call, layers reach the file
// within the interval.
func TestFSMFlushesByItself(t *testing.T) {
	f := newFSM(t, 10*time.Millisecond)
	f.ApplyBatch([]*hraft.Log{putEntry(t, 1, put("a", "1"))})
	for range 500 {
		if string(committed(t, f, "a")) == "1" && len(*f.layers.Load()) == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("layer not committed 5 s after its batch")
}

// TestFSMFlushesLargeLayersEarly: layers holding flushBytes are committed
// without waiting for the interval, which bounds their memory.
func TestFSMFlushesLargeLayersEarly(t *testing.T) {
	f := newFSM(t, never)
	f.ApplyBatch([]*hraft.Log{putEntry(t, 1, op{Key: "big", Value: make([]byte, flushBytes)})})
	for range 500 {
		if len(*f.layers.Load()) == 0 {
			if got := committed(t, f, "big"); len(got) != flushBytes {
				t.Fatalf("the file holds %d bytes under big", len(got))
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("16 MiB layer not committed 5 s after its batch")
}

// TestFSMCrashReplay: a crash loses the layers, not the data: the file
// holds the index it covers, and applying the log again from there (as
// Raft does after a restart) gives the same state, with the entries the
// file already holds skipped rather than applied twice.
func TestFSMCrashReplay(t *testing.T) {
	path := t.TempDir() + "/fsm.db"
	f, err := openFSMEvery(path, never)
	if err != nil {
		t.Fatal(err)
	}
	absent := check{Key: "once"}
	logs := []*hraft.Log{
		putEntry(t, 1, put("a", "1")),
		putEntry(t, 2, put("b", "1")),
	}
	f.ApplyBatch(logs)
	f.flush()
	// Entry 3 succeeds once: applied again over its own result it would
	// conflict, which must not be mistaken for a refusal the first time.
	e3, err := encodeEntry(&command{Checks: []check{absent}, Ops: []op{put("once", "x")}})
	if err != nil {
		t.Fatal(err)
	}
	logs = append(logs, &hraft.Log{Index: 3, Type: hraft.LogCommand, Data: e3},
		putEntry(t, 4, put("a", "4"), del("b")))
	out := f.ApplyBatch(logs[2:])
	if out[0] != nil {
		t.Fatalf("entry 3 answered %v", out[0])
	}
	// Crash: the layers of entries 3 and 4 are never committed.
	f.quitOnce.Do(func() { close(f.quit) })
	f.flusher.Wait()
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}

	g, err := openFSMEvery(path, never)
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	if g.appliedIndex() != 2 {
		t.Fatalf("index after the crash = %d, want the flushed 2", g.appliedIndex())
	}
	if got := readKey(t, g, "a"); string(got) != "1" {
		t.Fatalf("a after the crash = %q", got)
	}
	// Raft applies everything above its last snapshot again.
	out = g.ApplyBatch(logs)
	if out[2] != nil {
		t.Fatalf("entry 3 replayed answered %v", out[2])
	}
	want := map[string]string{"a": "4", "b": "", "once": "x"}
	for k, v := range want {
		if got := readKey(t, g, k); string(got) != v {
			t.Fatalf("%s after the replay = %q, want %q", k, got, v)
		}
	}
	if g.appliedIndex() != 4 {
		t.Fatalf("index after the replay = %d", g.appliedIndex())
	}
}

// TestFSMListAcrossLayers: a listing merges the file with every layer, the
// newest write of a key winning, and an Update's own writes on top.
func TestFSMListAcrossLayers(t *testing.T) {
	f := newFSM(t, never)
	f.ApplyBatch([]*hraft.Log{putEntry(t, 1, put("p/a", "1"), put("p/b", "1"), put("p/d/x", "1"))})
	f.flush()
	f.ApplyBatch([]*hraft.Log{putEntry(t, 2, del("p/a"), put("p/c", "1"), put("p/e/y", "1"))})
	f.ApplyBatch([]*hraft.Log{putEntry(t, 3, put("p/a", "3"), del("p/c"), del("p/d/x"))})
	f.ApplyBatch([]*hraft.Log{putEntry(t, 4, del("p/b"))})
	if got, want := listKeys(t, f, "p/"), []string{"a", "e/"}; !slices.Equal(got, want) {
		t.Fatalf("list = %q, want %q", got, want)
	}

	s := &Store{fsm: f}
	tx := &tx{s: s, writes: map[string]*op{}, seen: map[string]bool{}}
	err := f.read(func(st *state) error {
		tx.st = st
		defer func() { tx.st = nil }()
		_ = tx.Put(context.Background(), &storage.Entry{Key: "p/b", Value: []byte("tx")})
		_ = tx.Delete(context.Background(), "p/a")
		got, err := tx.List(context.Background(), "p/")
		if err != nil {
			return err
		}
		if want := []string{"b", "e/"}; !slices.Equal(got, want) {
			t.Errorf("list in a transaction = %q, want %q", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The same after the layers are committed.
	f.flush()
	if got, want := listKeys(t, f, "p/"), []string{"a", "e/"}; !slices.Equal(got, want) {
		t.Fatalf("list after the flush = %q, want %q", got, want)
	}
}

// TestFSMMergedLayersKeepState: merging layers changes nothing readers
// see (values, deletions, listings, the index, HA metadata), keeps their
// number bounded, and a flush of merged layers commits the newest values.
func TestFSMMergedLayersKeepState(t *testing.T) {
	f := newFSM(t, never)
	rng := rand.New(rand.NewPCG(3, 4))
	model := map[string]string{}
	check := func(when string) {
		t.Helper()
		var want []string
		for i := range 12 {
			k := fmt.Sprintf("p/%02d", i)
			v, ok := model[k]
			if ok {
				want = append(want, k[2:])
			}
			if got := readKey(t, f, k); (got != nil) != ok || string(got) != v {
				t.Fatalf("%s: %s = %q, want %q", when, k, got, v)
			}
		}
		if got := listKeys(t, f, "p/"); !slices.Equal(got, want) {
			t.Fatalf("%s: list = %q, want %q", when, got, want)
		}
	}
	const batches = 60
	for i := 1; i <= batches; i++ {
		var ops []op
		for range 1 + rng.IntN(3) {
			k := fmt.Sprintf("p/%02d", rng.IntN(12))
			if rng.IntN(3) == 0 {
				ops = append(ops, del(k))
				delete(model, k)
			} else {
				v := fmt.Sprint(i)
				ops = append(ops, put(k, v))
				model[k] = v
			}
		}
		data, err := encodeEntry(&command{Ops: ops, HA: &haValue{NodeID: "n", Value: fmt.Sprint(i)}})
		if err != nil {
			t.Fatal(err)
		}
		f.ApplyBatch([]*hraft.Log{{Index: uint64(i), Type: hraft.LogCommand, Data: data}})
		f.merge() // as the flusher does after each batch; it may have already
		check(fmt.Sprintf("after batch %d", i))
		if n := len(*f.layers.Load()); n > mergeAt+maxMerged {
			t.Fatalf("after batch %d: %d layers", i, n)
		}
	}
	layers := *f.layers.Load()
	if merged := slices.IndexFunc(layers, func(l *layer) bool { return l.merged }); merged < 0 {
		t.Fatalf("no merged layer among %d", len(layers))
	}
	var ha []byte
	_ = f.read(func(st *state) error {
		if i := st.index(); i != batches {
			t.Errorf("index = %d, want %d", i, batches)
		}
		ha = st.getMeta(haKey)
		return nil
	})
	if want := fmt.Sprintf(`{"n":"n","v":"%d"}`, batches); string(ha) != want {
		t.Fatalf("HA metadata = %s, want %s", ha, want)
	}
	f.flush()
	check("after the flush")
	for k, v := range model {
		if got := committed(t, f, k); string(got) != v {
			t.Fatalf("the file holds %s = %q, want %q", k, got, v)
		}
	}
}

// TestFSMChecksSeeLayers: a check-and-set is judged against the newest
// state, committed or not, including earlier commands of its own batch.
func TestFSMChecksSeeLayers(t *testing.T) {
	f := newFSM(t, never)
	f.ApplyBatch([]*hraft.Log{putEntry(t, 1, put("k", "1"))})
	var sum []byte
	_ = f.read(func(st *state) error { sum = checkSum(st, "k", false); return nil })
	cas := func(index uint64, v string) *hraft.Log {
		data, err := encodeEntry(&command{Checks: []check{{Key: "k", Sum: sum}}, Ops: []op{put("k", v)}})
		if err != nil {
			t.Fatal(err)
		}
		return &hraft.Log{Index: index, Type: hraft.LogCommand, Data: data}
	}
	out := f.ApplyBatch([]*hraft.Log{cas(2, "2"), cas(3, "3")})
	if out[0] != nil || !errors.Is(out[1].(error), errConflict) {
		t.Fatalf("answers = %v, %v", out[0], out[1])
	}
	out = f.ApplyBatch([]*hraft.Log{cas(4, "4")})
	if !errors.Is(out[0].(error), errConflict) {
		t.Fatalf("a check against an older layer answered %v", out[0])
	}
	if got := readKey(t, f, "k"); string(got) != "2" {
		t.Fatalf("k = %q", got)
	}
}

// memSink collects a snapshot.
type memSink struct{ bytes.Buffer }

func (*memSink) ID() string              { return "mem" }
func (*memSink) Cancel() error           { return nil }
func (*memSink) Close() error            { return nil }
func (s *memSink) Reader() io.ReadCloser { return io.NopCloser(bytes.NewReader(s.Bytes())) }

// TestFSMSnapshotRestore: a snapshot holds every applied batch, committed
// or not, and restoring one replaces the layers as well as the file.
func TestFSMSnapshotRestore(t *testing.T) {
	f := newFSM(t, never)
	f.ApplyBatch([]*hraft.Log{putEntry(t, 1, put("a", "1"))})
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	f.ApplyBatch([]*hraft.Log{putEntry(t, 2, put("a", "2"), put("b", "2"))})
	if err := f.Restore(sink.Reader()); err != nil {
		t.Fatal(err)
	}
	if n := len(*f.layers.Load()); n != 0 {
		t.Fatalf("%d layers survived the restore", n)
	}
	if got := readKey(t, f, "a"); string(got) != "1" {
		t.Fatalf("a after the restore = %q", got)
	}
	if got := readKey(t, f, "b"); got != nil {
		t.Fatalf("b after the restore = %q", got)
	}
	if f.appliedIndex() != 1 {
		t.Fatalf("index after the restore = %d", f.appliedIndex())
	}
}

// TestFSMReadsNeverGoBack: readers racing with batches and flushes never
// see a key's value go back to an older one, nor a listing lose a key
// once it appeared (a flush commits its layers before it drops them).
func TestFSMReadsNeverGoBack(t *testing.T) {
	f := newFSM(t, time.Millisecond)
	const batches = 400
	done := make(chan struct{})
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			last, listed := -1, 0
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				var v []byte
				var names []string
				_ = f.read(func(st *state) error {
					v = append(v, st.get("k")...)
					names = st.list("n/")
					return nil
				})
				n := -1
				if v != nil {
					n = int(v[0])<<8 | int(v[1])
				}
				if n < last || len(names) < listed {
					errs <- fmt.Errorf("read went back: value %d after %d, %d names after %d", n, last, len(names), listed)
					return
				}
				last, listed = n, len(names)
			}
		}()
	}
	for i := range batches {
		f.ApplyBatch([]*hraft.Log{putEntry(t, uint64(i+1),
			op{Key: "k", Value: []byte{byte(i >> 8), byte(i)}},
			put(fmt.Sprintf("n/%04d", i), "x"))})
		if i%50 == 0 {
			f.flush()
		}
	}
	close(done)
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	f.flush()
	if got := listKeys(t, f, "n/"); len(got) != batches {
		t.Fatalf("%d names after every flush, want %d", len(got), batches)
	}
}
