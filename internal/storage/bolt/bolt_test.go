package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tresorhq/tresor/internal/storage"
	"github.com/tresorhq/tresor/internal/storage/storagetest"
)

// open opens a fresh fsyncing store in a temporary directory.
func open(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "tresor.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return open(t) })
}

func TestConformanceThroughView(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return storage.NewView(open(t), "logical/3f2a/") })
}

func TestOpen(t *testing.T) {
	t.Run("creates directory 0700 and file 0600", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "new", "data")
		s, err := Open(filepath.Join(dir, "tresor.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, "tresor.db"): 0o600} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != want {
				t.Errorf("%s has mode %v, want %v", path, fi.Mode(), want)
			}
		}
	})
	t.Run("reopen after close keeps data", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tresor.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Put(t.Context(), &storage.Entry{Key: "a/b", Value: []byte("kept")}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s, err = Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		e, err := s.Get(t.Context(), "a/b")
		if err != nil || string(e.Value) != "kept" {
			t.Fatalf("Get after reopen = %+v, %v; want kept", e, err)
		}
	})
	t.Run("second open reports the lock", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "tresor.db")
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, err = Open(path, Options{Timeout: 50 * time.Millisecond})
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("second Open = %v, want ErrLocked", err)
		}
		if want := "storage/bolt: database " + path + " is locked by another process"; err.Error() != want {
			t.Fatalf("second Open error = %q, want %q", err, want)
		}
	})
	t.Run("use after close fails", func(t *testing.T) {
		s, err := Open(filepath.Join(t.TempDir(), "tresor.db"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		if err := s.Put(t.Context(), &storage.Entry{Key: "k"}); err == nil {
			t.Error("Put after Close succeeded")
		}
		if _, err := s.Get(t.Context(), "k"); err == nil || errors.Is(err, storage.ErrNotFound) {
			t.Errorf("Get after Close = %v, want a closed-database error", err)
		}
	})
}

func TestPutRejectsInvalidEntries(t *testing.T) {
	cases := map[string]*storage.Entry{
		"empty key":     {Key: ""},
		"key over 32KB": {Key: string(make([]byte, 32769))},
	}
	s := open(t)
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			if err := s.Put(t.Context(), e); !errors.Is(err, ErrInvalidEntry) {
				t.Fatalf("Put = %v, want ErrInvalidEntry", err)
			}
		})
	}
}

// holdCommit starts a write that blocks inside its commit until the returned
// release is called, so writers started meanwhile queue into one batch.
func holdCommit(t *testing.T, s *Store) (release func()) {
	t.Helper()
	entered, gate := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(context.Background(), func(tx storage.Tx) error {
			close(entered)
			<-gate
			return tx.Put(context.Background(), &storage.Entry{Key: "blocker", Value: []byte("b")})
		})
	}()
	<-entered
	return func() {
		close(gate)
		if err := <-done; err != nil {
			t.Errorf("blocking write: %v", err)
		}
	}
}

// waitQueued waits until n writers are queued behind the commit in flight.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		q := len(s.queue)
		s.mu.Unlock()
		if q == n {
			return
		}
	}
	t.Fatalf("timed out waiting for %d queued writers", n)
}

func TestBatch(t *testing.T) {
	errBoom := errors.New("boom")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	type writer struct {
		ctx     context.Context
		fn      func(tx storage.Tx) error
		wantErr error  // nil: succeeds
		panics  bool   // the caller sees fn's panic
		key     string // written by fn; present afterwards iff wantErr == nil
	}
	put := func(key string, then error) func(storage.Tx) error {
		return func(tx storage.Tx) error {
			if err := tx.Put(context.Background(), &storage.Entry{Key: key, Value: []byte(key)}); err != nil {
				return err
			}
			return then
		}
	}
	writers := map[string]writer{
		"ok before":        {fn: put("ok/1", nil), key: "ok/1"},
		"failing function": {fn: put("fail/1", errBoom), wantErr: errBoom, key: "fail/1"},
		"ok between":       {fn: put("ok/2", nil), key: "ok/2"},
		"panicking function": {fn: func(tx storage.Tx) error {
			_ = put("panic/1", nil)(tx)
			panic("kaboom")
		}, panics: true, key: "panic/1"},
		"canceled context": {ctx: canceled, fn: put("canceled/1", nil), wantErr: context.Canceled, key: "canceled/1"},
		"invalid entry":    {fn: put("", nil), wantErr: ErrInvalidEntry},
		"ok after":         {fn: put("ok/3", nil), key: "ok/3"},
	}

	s := open(t)
	release := holdCommit(t, s)
	type result struct {
		err      error
		panicked any
	}
	results := make(map[string]*result, len(writers))
	var wg sync.WaitGroup
	for name, w := range writers {
		r := &result{}
		results[name] = r
		ctx := w.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		wg.Go(func() {
			defer func() { r.panicked = recover() }()
			r.err = s.Update(ctx, w.fn)
		})
	}
	waitQueued(t, s, len(writers))
	before := s.Stats()
	release()
	wg.Wait()

	// One commit for the blocker, one for everything queued behind it.
	if got := s.Stats().Commits - before.Commits; got != 2 {
		t.Errorf("blocker and queued writers took %d commits, want 2", got)
	}
	for name, w := range writers {
		t.Run(name, func(t *testing.T) {
			r := results[name]
			if w.panics != (r.panicked != nil) {
				t.Errorf("caller panicked with %v, want panic %v", r.panicked, w.panics)
			}
			if !w.panics && !errors.Is(r.err, w.wantErr) {
				t.Errorf("Update = %v, want %v", r.err, w.wantErr)
			}
			if w.key == "" {
				return
			}
			_, err := s.Get(t.Context(), w.key)
			if present := err == nil; present != (w.wantErr == nil && !w.panics) {
				t.Errorf("key %q present = %v after Update returned %v", w.key, present, r.err)
			}
		})
	}
}

func TestGroupCommitSharesFsyncs(t *testing.T) {
	s := open(t)
	const writers, each = 32, 20
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				e := &storage.Entry{Key: fmt.Sprintf("w%d/%d", w, i), Value: []byte("v")}
				if err := s.Put(context.Background(), e); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d Puts failed", failed.Load())
	}
	st := s.Stats()
	t.Logf("%d writes in %d commits (%.3f fsyncs per write)", st.Writes, st.Commits, float64(st.Commits)/float64(st.Writes))
	if st.Writes != writers*each {
		t.Errorf("Writes = %d, want %d", st.Writes, writers*each)
	}
	if st.Commits >= st.Writes {
		t.Errorf("Commits = %d, not fewer than Writes = %d: no group commit", st.Commits, st.Writes)
	}
}

func TestReadOnlyUpdateSkipsCommit(t *testing.T) {
	s := open(t)
	err := s.Update(t.Context(), func(tx storage.Tx) error {
		_, err := tx.Get(t.Context(), "missing")
		if !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("Get = %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st != (Stats{}) {
		t.Errorf("Stats after a read-only Update = %+v, want zero", st)
	}
}
